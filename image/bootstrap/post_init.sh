#!/usr/bin/env bash
# Patroni's bootstrap.post_init in this image: Spilo's own post_init first, then Supabase's bootstrap.
#
# Spilo configures `post_init: /scripts/post_init.sh "HUMAN_ROLE"` and has no hook directory, so the image
# moves Spilo's script to post_init.spilo.sh and installs this wrapper in its place. Patroni appends the
# connection string and fails the bootstrap when this exits non-zero.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
spilo_post_init=${SPILO_POST_INIT:-$here/post_init.spilo.sh}
runner=${SUPABASE_BOOTSTRAP:-$here/supabase/supabase-bootstrap}

if [ "$#" -ne 2 ]; then
  echo "usage: post_init.sh HUMAN_ROLE CONNINFO" >&2
  exit 2
fi

"$spilo_post_init" "$@"
exec "$runner" "$@"
