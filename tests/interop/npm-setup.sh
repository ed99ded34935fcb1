#!/usr/bin/env bash
# npm-setup.sh DIR: installs the shared test relay's npm packages (nostr-tools and the relay,
# ../shared/tools/nostr-relay) into DIR, which is created if needed. The three files are
# copied (../shared is read-only in CI; node_modules is never vendored) and `npm ci` runs only
# when DIR/node_modules is missing or package-lock.json changed, so a build-dir cache makes
# later runs instant. NOSTR_RELAY_SRC overrides the source folder. Concurrent callers on one
# DIR are serialized with flock. Exit 0 when DIR is ready.
set -euo pipefail
dir=${1:?usage: npm-setup.sh DIR}
here=$(cd "$(dirname "$0")" && pwd)
src=${NOSTR_RELAY_SRC:-$here/../../../shared/tools/nostr-relay}
for f in local-relay.mjs package.json package-lock.json; do
  [ -f "$src/$f" ] || { echo "npm-setup: $src/$f is missing" >&2; exit 1; }
done
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
exec 9>"$dir/.npm-setup.lock"
command -v flock >/dev/null && flock 9

if [ -d "$dir/node_modules" ] && cmp -s "$src/package-lock.json" "$dir/package-lock.json" &&
   cmp -s "$src/package.json" "$dir/package.json"; then
  cp "$src/local-relay.mjs" "$dir/"
  exit 0
fi
cp "$src/local-relay.mjs" "$src/package.json" "$src/package-lock.json" "$dir/"
rm -rf "$dir/node_modules"
# --prefer-offline: use npm's cache when it already holds these exact versions.
if ! (cd "$dir" && npm ci --no-audit --no-fund --prefer-offline >"$dir/npm-ci.log" 2>&1); then
  echo "npm-setup: npm ci failed in $dir:" >&2
  tail -20 "$dir/npm-ci.log" >&2
  rm -rf "$dir/node_modules"
  exit 1
fi
