#!/usr/bin/env bash
# The lab's stand-in for Spilo 4.0-p3's scripts/post_init.sh, which the image keeps as post_init.spilo.sh
# and runs before supabase-bootstrap. Usage (as Spilo's): post_init.spilo.sh HUMAN_ROLE CONNINFO
#
# Kept, in Spilo's order and with Spilo's statements: the roles admin, cron_admin, HUMAN_ROLE and robot_zmon;
# pg_cron created in pg_catalog with Spilo's policies and grants and cron.schedule_in_database (Supabase's
# migrations then find cron as on a pod); per database pg_stat_statements and, where installed, pg_auth_mon,
# pg_stat_kcache and set_user in public with Spilo's grants to admin.
# Left out, because their inputs exist only in Spilo's image: the file_fdw postgres_log tables and
# failed_authentication views (csvlog files; the lab logs to stderr), _zmon_schema.dump, metric_helpers.sql,
# create_user_functions.sql, the timescaledb/postgis upgrade steps and pg_mon.
set -euo pipefail

if [ "$#" -ne 2 ]; then
  echo "usage: post_init.spilo.sh HUMAN_ROLE CONNINFO" >&2
  exit 2
fi
human_role=$1
conninfo=$2
export PGOPTIONS="-c synchronous_commit=local -c search_path=pg_catalog"

psql -X -v ON_ERROR_STOP=1 -d "$conninfo" -v human_role="$human_role" <<'SQL'
DO $$
BEGIN
    PERFORM * FROM pg_catalog.pg_authid WHERE rolname = 'admin';
    IF FOUND THEN
        ALTER ROLE admin WITH CREATEDB NOLOGIN NOCREATEROLE NOSUPERUSER NOREPLICATION INHERIT;
    ELSE
        CREATE ROLE admin CREATEDB;
    END IF;
    PERFORM * FROM pg_catalog.pg_authid WHERE rolname = 'cron_admin';
    IF FOUND THEN
        ALTER ROLE cron_admin WITH NOCREATEDB NOLOGIN NOCREATEROLE NOSUPERUSER NOREPLICATION INHERIT;
    ELSE
        CREATE ROLE cron_admin;
    END IF;
END;$$;
GRANT cron_admin TO admin;
SELECT pg_catalog.format('CREATE ROLE %I', :'human_role')
 WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_authid WHERE rolname = :'human_role') \gexec
SELECT pg_catalog.format('ALTER ROLE %I WITH NOCREATEDB NOLOGIN NOCREATEROLE NOSUPERUSER NOREPLICATION INHERIT',
                         :'human_role') \gexec
DO $$
BEGIN
    PERFORM * FROM pg_catalog.pg_authid WHERE rolname = 'robot_zmon';
    IF FOUND THEN
        ALTER ROLE robot_zmon WITH NOCREATEDB NOLOGIN NOCREATEROLE NOSUPERUSER NOREPLICATION INHERIT;
    ELSE
        CREATE ROLE robot_zmon;
    END IF;
END;$$;

SELECT EXISTS (SELECT FROM pg_catalog.pg_available_extensions WHERE name = 'pg_auth_mon') AS have_auth_mon,
       EXISTS (SELECT FROM pg_catalog.pg_available_extensions WHERE name = 'pg_cron') AS have_cron \gset
\if :have_auth_mon
CREATE EXTENSION IF NOT EXISTS pg_auth_mon SCHEMA public;
GRANT SELECT ON TABLE public.pg_auth_mon TO robot_zmon;
\endif
\if :have_cron
CREATE EXTENSION IF NOT EXISTS pg_cron SCHEMA pg_catalog;
ALTER POLICY cron_job_policy ON cron.job USING (username = current_user OR
    (pg_has_role(current_user, 'cron_admin', 'MEMBER')
    AND pg_has_role(username, 'cron_admin', 'MEMBER')
    AND NOT EXISTS(SELECT 1 FROM pg_roles WHERE rolname = username AND rolsuper)
    ));
REVOKE SELECT ON cron.job FROM admin, public;
GRANT SELECT ON cron.job TO cron_admin;
REVOKE UPDATE (database, nodename) ON cron.job FROM admin;
GRANT UPDATE (database, nodename) ON cron.job TO cron_admin;
ALTER POLICY cron_job_run_details_policy ON cron.job_run_details USING (username = current_user OR
    (pg_has_role(current_user, 'cron_admin', 'MEMBER')
    AND pg_has_role(username, 'cron_admin', 'MEMBER')
    AND NOT EXISTS(SELECT 1 FROM pg_roles WHERE rolname = username AND rolsuper)
    ));
REVOKE SELECT ON cron.job_run_details FROM admin, public;
GRANT SELECT ON cron.job_run_details TO cron_admin;
CREATE OR REPLACE FUNCTION cron.schedule_in_database(p_schedule text, p_database text, p_command text)
RETURNS bigint
LANGUAGE plpgsql
AS $function$
DECLARE
    l_jobid bigint;
BEGIN
    IF NOT (SELECT rolcanlogin FROM pg_roles WHERE rolname = current_user)
    THEN RAISE 'You cannot create a job using a role that cannot log in';
    END IF;
    SELECT schedule INTO l_jobid FROM cron.schedule(p_schedule, p_command);
    UPDATE cron.job SET database = p_database, nodename = '' WHERE jobid = l_jobid;
    RETURN l_jobid;
END;
$function$;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA cron FROM admin, public;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA cron TO cron_admin;
REVOKE USAGE ON SCHEMA cron FROM admin;
GRANT USAGE ON SCHEMA cron TO cron_admin;
\endif
SQL

# Per database, as Spilo's loop over every database that allows connections.
psql -X -tA -d "$conninfo" -c 'select pg_catalog.quote_ident(datname) from pg_catalog.pg_database where datallowconn' |
while IFS= read -r db; do
  psql -X -v ON_ERROR_STOP=1 -d "$conninfo" <<SQL
\\c ${db}
CREATE EXTENSION IF NOT EXISTS pg_stat_statements SCHEMA public;
SELECT 'CREATE EXTENSION IF NOT EXISTS ' || name || ' SCHEMA public'
  FROM pg_catalog.pg_available_extensions WHERE name IN ('pg_stat_kcache', 'set_user') \\gexec
SELECT 'GRANT EXECUTE ON FUNCTION public.set_user(text) TO admin'
  FROM pg_catalog.pg_extension WHERE extname = 'set_user' \\gexec
SELECT 'GRANT EXECUTE ON FUNCTION public.pg_stat_statements_reset('
       || CASE WHEN current_setting('server_version_num')::int < 170000 THEN 'oid, oid, bigint'
               ELSE 'oid, oid, bigint, bool' END || ') TO admin' \\gexec
GRANT EXECUTE ON FUNCTION pg_catalog.pg_switch_wal() TO admin;
SQL
done
