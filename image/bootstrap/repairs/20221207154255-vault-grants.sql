-- repairs migrations/20221207154255_create_pgsodium_and_vault.sql cb8877c69b6913153776b865093e85768053daed283dec6835fdac728978d76c
-- A cluster that ran this migration before Supabase edited it (e.g. 15.8.1.004) created supabase_vault without
-- the grants the edited version (15.8.1.085) gives: postgres (with grant option) and service_role may use
-- vault. Without them service_role cannot read or write secrets on an upgraded cluster.
DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'supabase_vault') THEN
    GRANT USAGE ON SCHEMA vault TO postgres WITH GRANT OPTION;
    GRANT SELECT, DELETE, TRUNCATE, REFERENCES ON vault.secrets, vault.decrypted_secrets TO postgres WITH GRANT OPTION;
    GRANT EXECUTE ON FUNCTION vault.create_secret, vault.update_secret, vault._crypto_aead_det_decrypt
      TO postgres WITH GRANT OPTION;
    GRANT USAGE ON SCHEMA vault TO service_role;
    GRANT SELECT, DELETE ON vault.secrets, vault.decrypted_secrets TO service_role;
    GRANT EXECUTE ON FUNCTION vault.create_secret, vault.update_secret, vault._crypto_aead_det_decrypt TO service_role;
  END IF;
END $$;
