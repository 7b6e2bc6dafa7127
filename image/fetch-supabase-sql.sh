#!/usr/bin/env bash
# Build step: download Supabase's SQL as pinned in supabase-postgres.lock and lay it out as
#   ROOT/init-scripts/*.sql and ROOT/migrations/*.sql  (the docker-entrypoint-initdb.d layout)
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

mkdir -p "$work/src" "$root/init-scripts" "$root/migrations"
tar -xzf "$work/release.tar.gz" -C "$work/src"
db=$(find "$work/src" -mindepth 3 -maxdepth 3 -type d -path '*/migrations/db' | head -n 1)
[ -n "$db" ] || fail "the supabase/postgres $release archive has no migrations/db directory"
for phase in init-scripts migrations; do
  [ -d "$db/$phase" ] || fail "the supabase/postgres $release archive has no migrations/db/$phase"
  find "$db/$phase" -maxdepth 1 -type f -name '*.sql' -exec cp {} "$root/$phase/" \;
  [ -n "$(find "$root/$phase" -maxdepth 1 -name '*.sql' -print -quit)" ] \
    || fail "no SQL files in migrations/db/$phase of supabase/postgres $release"
done

commit=$(field selfhost-commit 3)
if [ -z "$commit" ] || [ "$commit" = "-" ]; then
  fail "$lock pins no supabase/supabase commit for the self-hosting files; run image/update-lock.sh"
fi
[[ $commit =~ ^[0-9a-f]{40}$ ]] || fail "$lock: the supabase/supabase commit is not a full sha: $commit"

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
printf 'fetch-supabase-sql: supabase/postgres %s and supabase/supabase %s laid out in %s\n' "$release" "$commit" "$root"
