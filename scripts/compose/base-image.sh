#!/bin/sh
# Builds the local base image (default p2pay-base:bookworm) without pulling anything: a Debian
# bookworm minbase root filesystem made by mmdebstrap from the mirror apt already uses, plus the
# Node 24 binary the project installs as its `node` dependency, imported with `docker import`.
# It has no npm: the p2pay image gets node_modules installed outside the build (see prebuilt-deps.sh).
#   scripts/compose/base-image.sh [image tag]
set -eu

tag=${1:-p2pay-base:bookworm}
root=$(cd "$(dirname "$0")/../.." && pwd)
node_bin=$(readlink -f "$root/node_modules/node/bin/node")
[ -x "$node_bin" ] || { echo "no Node binary at $root/node_modules/node/bin/node: run npm ci first" >&2; exit 1; }
command -v mmdebstrap > /dev/null || { echo "mmdebstrap is missing: apt-get install -y mmdebstrap" >&2; exit 1; }

# The bookworm main archive this host's apt reads from (sources.list or deb822 .sources alike).
mirror=$(apt-cache policy | awk '$3 ~ /^bookworm\/main$/ { print $2; exit }')
[ -n "$mirror" ] || { echo "no bookworm/main mirror in apt's sources" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "base image $tag: bookworm minbase from $mirror, Node $("$node_bin" --version)"
# shellcheck disable=SC2016 # "$1" is the root filesystem's path, given to the hook by mmdebstrap
mmdebstrap --quiet --variant=minbase \
  --customize-hook="copy-in $node_bin /usr/local/bin" \
  --customize-hook='chroot "$1" sh -c "rm -rf /var/cache/apt/* /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/*"' \
  bookworm "$work/rootfs.tar" "$mirror"
docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["node"]' \
  "$work/rootfs.tar" "$tag" > /dev/null
docker run --rm "$tag" node --version > /dev/null
echo "base image $tag ready"
