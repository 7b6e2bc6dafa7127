-- repairs migrations/20231020085357_revoke_writes_on_cron_job_from_postgres.sql 6c37208218a84c3ab40e5e0369b86d31a6ddc56fbfe95c03800776b3fa9ce4b7
-- The edited version of this migration also hands the pg_cron event trigger's function to supabase_admin;
-- a cluster that ran the earlier version keeps postgres as its owner.
ALTER FUNCTION extensions.grant_pg_cron_access() OWNER TO supabase_admin;
