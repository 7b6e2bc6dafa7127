#!/usr/bin/env bash
# Build step: download Supabase's SQL as pinned in supabase-postgres.lock and lay it out in ROOT exactly as
# Supabase's own image lays out /docker-entrypoint-initdb.d (supabase/postgres Dockerfile-15, the three COPY
# lines "migrations/db", "pgbouncer_auth_schema.sql -> init-scripts/00-schema.sql" and "stat_extension.sql ->
# migrations/00-extension.sql"), plus the files Supabase's self-hosting setup mounts on top of it:
#   ROOT/migrate.sh                       Supabase's own runner (kept for comparison; this image does not run it)
#   ROOT/init-scripts/00-schema.sql       the pgbouncer role and schema (pgbouncer_auth_schema.sql)
#   ROOT/init-scripts/0000000000000N-*.sql
#   ROOT/init-scripts/98-webhooks.sql, 99-roles.sql, 99-jwt.sql              (self-hosting)
#   ROOT/migrations/00-extension.sql      pg_stat_statements in schema extensions (stat_extension.sql)
#   ROOT/migrations/<dated>.sql
#   ROOT/migrations/97-_supabase.sql, 99-logs.sql, 99-pooler.sql, 99-realtime.sql  (self-hosting)
# Every download is checked against its sha256; a missing or different checksum fails the build.
#
# Usage: fetch-supabase-sql.sh LOCKFILE ROOT
set -euo pipefail

fail() {
  printf 'fetch-supabase-sql: %s\n' "$*" >&2
  exit 1
}

[ "$#" -eq 2 ] || fail "usage: fetch-supabase-sql.sh LOCKFILE ROOT"
lock=$1
root=$2
[ -r "$lock" ] || fail "cannot read $lock"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The lock's fields: kind key url sha256 ("-" means empty).
field() { awk -v kind="$1" -v n="$2" '$1 == kind { print $n; exit }' "$lock"; }

require_sha() {
  local what=$1 sha=$2
  if [ -z "$sha" ] || [ "$sha" = "-" ]; then
    fail "$lock has no sha256 for $what; run image/update-lock.sh on a machine with network access and commit the result"
  fi
  [[ $sha =~ ^[0-9a-f]{64}$ ]] || fail "$lock: the sha256 for $what is malformed: $sha"
}

download() {
  local url=$1 sha=$2 dest=$3 actual
  curl --fail --silent --show-error --location --retry 3 --proto '=https,http' --output "$dest" "$url" \
    || fail "download failed: $url"
  actual=$(sha256sum "$dest" | cut -d' ' -f1)
  [ "$actual" = "$sha" ] || fail "checksum mismatch for $url: expected $sha, got $actual"
}

release=$(field supabase-postgres 2)
archive_url=$(field supabase-postgres 3)
archive_sha=$(field supabase-postgres 4)
[ -n "$release" ] && [ -n "$archive_url" ] || fail "$lock has no supabase-postgres line"
require_sha "supabase/postgres $release" "$archive_sha"
download "$archive_url" "$archive_sha" "$work/release.tar.gz"

mkdir -p "$work/src" "$root"
tar -xzf "$work/release.tar.gz" -C "$work/src"
# GitHub's tag archive has one top folder (postgres-<release>/).
top=$(find "$work/src" -mindepth 1 -maxdepth 1 -type d | head -n 1)
[ -n "$top" ] && [ -d "$top/migrations/db" ] || fail "the supabase/postgres $release archive has no migrations/db directory"
db=$top/migrations/db
for phase in init-scripts migrations; do
  [ -n "$(find "$db/$phase" -maxdepth 1 -name '*.sql' -print -quit 2>/dev/null)" ] \
    || fail "no SQL files in migrations/db/$phase of supabase/postgres $release"
done
cp -R "$db/." "$root/"
# The two files Supabase's Dockerfile copies in from ansible/files.
for pair in "ansible/files/pgbouncer_config/pgbouncer_auth_schema.sql init-scripts/00-schema.sql" \
            "ansible/files/stat_extension.sql migrations/00-extension.sql"; do
  read -r src dest <<<"$pair"
  [ -f "$top/$src" ] || fail "the supabase/postgres $release archive has no $src"
  cp "$top/$src" "$root/$dest"
done

commit=$(field selfhost-commit 3)
if [ -z "$commit" ] || [ "$commit" = "-" ]; then
  fail "$lock pins no commit for the self-hosting files; run image/update-lock.sh"
fi
[[ $commit =~ ^[0-9a-f]{40}$ ]] || fail "$lock: the self-hosting commit is not a full sha: $commit"
selfhost_repo=$(field selfhost-commit 2)

while read -r kind target url sha; do
  [ "$kind" = "selfhost" ] || continue
  case "$target" in
    init-scripts/*.sql | migrations/*.sql) ;;
    *) fail "$lock: self-hosting file target $target is outside init-scripts/ and migrations/" ;;
  esac
  require_sha "$target" "$sha"
  download "${url//\{commit\}/$commit}" "$sha" "$root/$target"
done < <(grep -v '^[[:space:]]*#' "$lock")

chmod -R a+rX "$root"
printf 'fetch-supabase-sql: supabase/postgres %s and %s@%s laid out in %s\n' "$release" "$selfhost_repo" "$commit" "$root"
