#!/usr/bin/env bash
# The lab's copy of Spilo 4.0-p3's scripts/on_role_change.sh, Patroni's on_role_change callback there
# (configure_spilo.py: `on_role_change: '/scripts/on_role_change.sh {{HUMAN_ROLE}} true'`). On a promotion
# it re-runs post_init on the new primary, which is how the image's supabase-bootstrap reaches a promoted
# replica. Same logic; only the post_init path is this script's directory instead of /scripts, and psql
# finds the member through PGHOST/PGPORT, which the lab sets where Spilo relies on the default socket.
# Usage (Patroni appends the last three): on_role_change.sh HUMAN_ROLE CALLBACK... on_role_change ROLE SCOPE
set -u

readonly HUMAN_ROLE=$1
shift
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

"$@"

readonly dbname=postgres
if [[ "${*: -3:1}" == "on_role_change" && "${*: -2:1}" == "primary" ]]; then
    num=30  # wait 30 seconds for end of recovery
    while [[ $((num--)) -gt 0 ]]; do
        if [[ "$(psql -d $dbname -tAc 'SELECT pg_catalog.pg_is_in_recovery()')" == "f" ]]; then
            vacuumdb -aZ > /dev/null 2>&1 &
            exec "$here/post_init.sh" "$HUMAN_ROLE" "$dbname"
        else
            sleep 1
        fi
    done
fi
