"""A comparable snapshot of what Supabase's SQL leaves behind: roles, memberships, schemas, grants,
functions, extensions, event triggers, publications, database settings. Each part is a set of tuples."""

from __future__ import annotations

from tests.image import pg

# Supabase's schemas (and the bookkeeping one); pg_catalog / information_schema / toast are PostgreSQL's.
SKIP_SCHEMAS = "('pg_catalog', 'information_schema', 'pg_toast')"

QUERIES = {
    "roles": """
        select rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication,
               rolbypassrls, coalesce(array_to_string(rolconfig, ';'), '')
          from pg_roles where rolname !~ '^pg_'""",
    "memberships": """
        select r.rolname, m.rolname, a.admin_option
          from pg_auth_members a join pg_roles r on r.oid = a.roleid join pg_roles m on m.oid = a.member""",
    "schemas": f"""
        select nspname, pg_get_userbyid(nspowner), coalesce(array_to_string(nspacl, ';'), '')
          from pg_namespace where nspname not in {SKIP_SCHEMAS} and nspname !~ '^pg_(temp|toast_temp)'""",
    "relations": f"""
        select n.nspname, c.relname, c.relkind, pg_get_userbyid(c.relowner), coalesce(array_to_string(c.relacl, ';'), '')
          from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where n.nspname not in {SKIP_SCHEMAS} and c.relkind in ('r', 'v', 'm', 'S', 'p', 'f')""",
    "functions": f"""
        select n.nspname, p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
               pg_get_userbyid(p.proowner), p.prosecdef, coalesce(array_to_string(p.proacl, ';'), ''),
               md5(p.prosrc)
          from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname not in {SKIP_SCHEMAS}""",
    "extensions": """
        select extname, extnamespace::regnamespace::text, extversion, pg_get_userbyid(extowner) from pg_extension""",
    "event_triggers": """
        select evtname, evtevent, pg_get_userbyid(evtowner), evtfoid::regproc::text, evtenabled::text,
               coalesce(array_to_string(evttags, ';'), '')
          from pg_event_trigger""",
    "publications": """
        select pubname, pg_get_userbyid(pubowner), puballtables from pg_publication""",
    "databases": """
        select datname, pg_get_userbyid(datdba) from pg_database where not datistemplate""",
    "db_settings": """
        select coalesce(d.datname, '*'), coalesce(r.rolname, '*'), array_to_string(s.setconfig, ';')
          from pg_db_role_setting s left join pg_database d on d.oid = s.setdatabase
          left join pg_roles r on r.oid = s.setrole""",
    "default_acls": """
        select pg_get_userbyid(defaclrole), coalesce(defaclnamespace::regnamespace::text, '-'), defaclobjtype::text,
               array_to_string(defaclacl, ';')
          from pg_default_acl""",
}


def snapshot(cluster: pg.Cluster, dbname: str = "postgres") -> dict[str, set[tuple[str, ...]]]:
    return {part: {tuple(row) for row in cluster.rows(sql, dbname)} for part, sql in QUERIES.items()}


def differences(a: dict, b: dict) -> dict[str, dict[str, list]]:
    """Per part, the rows only in a and only in b (empty parts left out)."""
    out = {}
    for part in QUERIES:
        only_a, only_b = sorted(a[part] - b[part]), sorted(b[part] - a[part])
        if only_a or only_b:
            out[part] = {"only_first": only_a, "only_second": only_b}
    return out
