#!/usr/bin/env bash
# Builds the Dockerfile from this checkout with podman, on the local stand-ins of its base
# image (tests/deploy/standins/build.sh), as TAG (default localhost/cairn:local, the name
# docker-compose.yml's `image:` gives). The host's CA bundle and a pip configuration naming it
# are lent to the build only (nothing of them lands in the image): pip reaches the package
# index through this machine's network. `--format docker` keeps the HEALTHCHECK.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
tag=${1:-localhost/cairn:local}
ca=${CAIRN_TEST_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
export CONTAINERS_CONF=${CONTAINERS_CONF:-$here/containers.conf}
podman build --quiet --format docker --pull=never --layers \
    -v "$ca:/etc/ssl/certs/ca-certificates.crt:ro" -v "$here/pip.conf:/etc/pip.conf:ro" \
    -t "$tag" "$root" >/dev/null
echo "image: $tag"
