#!/usr/bin/env bash
# Fill in (or refresh) the sha256 checksums, the self-hosting commit and the Spilo digest in
# supabase-postgres.lock. Needs network access (GitHub, repo.pigsty.io) and, for the digest, docker buildx.
#
# Usage: image/update-lock.sh [--selfhost-ref REF]   (REF: branch, tag or commit of the self-hosting repository;
#                                                     default: keep the pinned commit, else master)
# Review the diff before committing: a changed checksum for an unchanged URL means the upstream file changed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
lock="$here/supabase-postgres.lock"
ref=""
if [ "${1:-}" = "--selfhost-ref" ]; then
  ref=${2:?--selfhost-ref needs a value}
fi

fail() {
  printf 'update-lock: %s\n' "$*" >&2
  exit 1
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

sha_of_url() {
  curl --fail --silent --show-error --location --retry 3 --output "$work/download" "$1" || fail "download failed: $1"
  sha256sum "$work/download" | cut -d' ' -f1
}

selfhost_repo=$(awk '$1 == "selfhost-commit" { print $2; exit }' "$lock")
commit=$(awk '$1 == "selfhost-commit" { print $3; exit }' "$lock")
if [ -n "$ref" ] || [ -z "$commit" ] || [ "$commit" = "-" ]; then
  ref=${ref:-master}
  if [[ $ref =~ ^[0-9a-f]{40}$ ]]; then
    commit=$ref
  else
    commit=$(git ls-remote "https://github.com/$selfhost_repo" "$ref" | awk 'NR == 1 { print $1 }')
    [ -n "$commit" ] || fail "cannot resolve $ref in $selfhost_repo"
  fi
fi

digest=-
base=$(awk '$1 == "base-image" { print $2; exit }' "$lock")
if command -v docker >/dev/null 2>&1; then
  digest=$(docker buildx imagetools inspect "$base" --format '{{json .Manifest.Digest}}' | tr -d '"') \
    || fail "cannot resolve the digest of $base"
else
  printf 'update-lock: docker not found; the %s digest is left as it is\n' "$base" >&2
  digest=$(awk '$1 == "base-image" { print $3; exit }' "$lock")
fi

tmp="$work/lock"
while IFS= read -r line; do
  read -r kind key url _ <<<"$line" || true
  case "$kind" in
    base-image) printf '%-18s %-32s %s %s\n' "$kind" "$key" "${digest:--}" "-" ;;
    selfhost-commit) printf '%-18s %-32s %s %s\n' "$kind" "$key" "$commit" "-" ;;
    supabase-postgres | pigsty-key) printf '%-18s %-32s %s %s\n' "$kind" "$key" "$url" "$(sha_of_url "$url")" ;;
    selfhost) printf '%-18s %-32s %s %s\n' "$kind" "$key" "$url" "$(sha_of_url "${url//\{commit\}/$commit}")" ;;
    *) printf '%s\n' "$line" ;;
  esac
done <"$lock" >"$tmp"
mv "$tmp" "$lock"
printf 'update-lock: wrote %s (%s %s)\n' "$lock" "$selfhost_repo" "$commit"
