#!/usr/bin/env bash
# interop.nostr_tools (label blackbox): agent9's Nostr primitives against nostr-tools, the
# reference JS library, both ways (NIP-19, NIP-44 incl. the extended length prefix, NIP-04,
# NIP-01 events, NIP-17/NIP-59 gift wraps). Usage: interop.sh INTEROP_TOOL [NPM_DIR].
# NPM_DIR (default: a temp dir) receives nostr-tools via npm-setup.sh; a build-dir cache
# makes reruns fast. Exit 77 (skip) only when node or npm is not installed.
set -euo pipefail
tool=${1:?usage: interop.sh INTEROP_TOOL [NPM_DIR]}
here=$(cd "$(dirname "$0")" && pwd)
for bin in node npm; do
  command -v "$bin" >/dev/null || { echo "SKIP: $bin is not installed"; exit 77; }
done
[ -x "$tool" ] || { echo "interop.sh: $tool is not an executable" >&2; exit 1; }

if [ $# -ge 2 ]; then
  dir=$2
else
  dir=$(mktemp -d "${TMPDIR:-/tmp}/agent9-interop.XXXXXX")
  trap 'rm -rf "$dir"' EXIT
fi
"$here/npm-setup.sh" "$dir"
# ES modules resolve 'nostr-tools' from the script's own folder (NODE_PATH does not apply), so
# the script runs from a copy next to node_modules.
cp "$here/nostr_interop.mjs" "$dir/nostr_interop.mjs"
tool=$(cd "$(dirname "$tool")" && pwd)/$(basename "$tool")
node "$dir/nostr_interop.mjs" "$tool"  # not exec: the EXIT trap removes a temp dir
