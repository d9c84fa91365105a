#!/bin/sh
# Stand-in for the official redis image's entrypoint: redis-server without a configuration
# file answers on every address (protected mode off), as the redis user.
set -eu
if [ "${1:-}" = redis-server ]; then
    shift
    set -- redis-server --protected-mode no "$@"
fi
cd /var/lib/redis
exec setpriv --reuid=redis --regid=redis --init-groups "$@"
