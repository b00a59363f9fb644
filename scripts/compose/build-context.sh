#!/bin/sh
# Makes a docker build context in <dir> for a build that cannot run npm ci itself: the repository
# (less node_modules, .git and data dirs; .dockerignore still applies) plus prebuilt/node_modules,
# installed here with the lockfile's production dependencies for every workspace. Uses the npm
# cache when it holds the packages, the registry otherwise (reachable from this host, not from a
# container of a dockerd without NAT).
#   scripts/compose/build-context.sh <dir>
set -eu

dir=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$dir/prebuilt"
tar -C "$root" --exclude=./node_modules --exclude='./packages/*/node_modules' --exclude=./.git \
  --exclude=./.data --exclude=./tmp -cf - . | tar -C "$dir" -xf -
# npm ci runs where the workspaces are, so its node_modules/@p2pay/* links point at ../../packages/*
(cd "$dir" && PATH="$root/node_modules/.bin:$PATH" npm ci --omit=dev --prefer-offline --no-audit --no-fund \
  --loglevel=error > /dev/null)
mv "$dir/node_modules" "$dir/prebuilt/node_modules"
