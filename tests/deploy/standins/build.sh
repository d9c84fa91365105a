#!/usr/bin/env bash
# Makes local stand-ins for the base images that the Dockerfile and docker-compose.yml name
# (no container registry is reachable here) and tags them with those very names. One Debian
# bookworm root is made with mmdebstrap from this machine's own apt sources, kept as a tar
# file in $CAIRN_STANDIN_CACHE and imported into podman; Containerfile adds each image's
# entrypoint. Everything is keyed by the apt sources and these files: a later run on the same
# machine reuses the podman images (seconds), or imports the kept root (a minute); only a
# fresh machine runs mmdebstrap (a few minutes).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
cache=${CAIRN_STANDIN_CACHE:-/var/cache/cairn-standins}
packages=python3,python3-venv,python-is-python3,ca-certificates,postgresql-15,redis-server,redis-tools,nginx-light,wget

sources=()
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -s "$f" ] && sources+=("$f")
done
key=$( { cat "${sources[@]}" "$here/build.sh" "$here/Containerfile" "$here"/*-entrypoint.sh; } \
       | sha256sum | cut -c1-12)
base=localhost/cairn-standin-base:$key

# The names to stand in for, read from the files that use them.
declare -A names=(
    [python]=$(awk '/^FROM /{print $2; exit}' "$root/Dockerfile")
    [postgres]=$(awk '$1=="image:" && $2 ~ /^postgres:/ {print $2}' "$root/docker-compose.yml")
    [redis]=$(awk '$1=="image:" && $2 ~ /^redis:/ {print $2}' "$root/docker-compose.yml")
    [nginx]=$(awk '$1=="image:" && $2 ~ /^nginx:/ {print $2}' "$root/docker-compose.yml")
    [certbot]=$(awk '$1=="image:" && $2 ~ /^certbot\// {print $2}' "$root/docker-compose.yml")
)
full() {  # docker.io's own spelling of a short name, which is what FROM and image: resolve to
    case "$1" in */*) echo "docker.io/$1" ;; *) echo "docker.io/library/$1" ;; esac
}

current=1
for stage in "${!names[@]}"; do
    have=$(podman image inspect --format '{{ index .Labels "cairn.standin" }}' \
           "$(full "${names[$stage]}")" 2>/dev/null || true)
    [ "$have" = "$key" ] || current=0
done
if [ "$current" = 1 ]; then
    echo "stand-ins: up to date ($key)"
    exit 0
fi

if ! podman image exists "$base"; then
    tarball=$cache/$key/bookworm.tar
    if [ ! -s "$tarball" ]; then
        mkdir -p "$cache/$key"
        echo "stand-ins: making a Debian bookworm root with mmdebstrap (once per machine)"
        mmdebstrap --quiet --variant=minbase --format=tar --include="$packages" \
            --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
            --dpkgopt='path-exclude=/usr/share/locale/*' \
            --customize-hook='rm -rf "$1"/var/lib/postgresql/*/main "$1"/etc/postgresql/*/main' \
            bookworm "$tarball.part" "${sources[@]}"
        mv "$tarball.part" "$tarball"
        # Older roots are of no use any more.
        find "$cache" -mindepth 1 -maxdepth 1 -type d ! -name "$key" -exec rm -rf {} +
    fi
    echo "stand-ins: importing $tarball"
    podman import --quiet "$tarball" "$base" >/dev/null
fi

for stage in "${!names[@]}"; do
    name=$(full "${names[$stage]}")
    podman build --quiet --format docker --pull=never --build-arg "BASE=$base" \
        --target "$stage" --label "cairn.standin=$key" -t "$name" -f "$here/Containerfile" "$here" >/dev/null
    echo "stand-ins: $name ($stage)"
done
