#!/usr/bin/env bash
# Interop: NIP-98 Authorization headers made by nostr-tools' nip98.getToken (the reference
# client library) pass our VerifyNip98, and fail for another url, method or body.
# Env: NIP98_VERIFY = the nip98_verify binary; NOSTR_RELAY_DIR = /work/shared/tools/nostr-relay
# (its package.json and lockfile install nostr-tools). Exit 77 (skip) only without node/npm;
# a failed install is a failure. node_modules goes to a temp dir, never into the tree.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
verify=${NIP98_VERIFY:?set NIP98_VERIFY to the nip98_verify binary}
relay_dir=${NOSTR_RELAY_DIR:-$here/../../../shared/tools/nostr-relay}
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "nip98_interop: node or npm not installed; skipping"
  exit 77
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/agent9-nip98.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp "$relay_dir"/{local-relay.mjs,package.json,package-lock.json} "$here/nip98_token.mjs" "$work"/
(cd "$work" && npm ci --no-audit --no-fund --loglevel=error >npm.log 2>&1) ||
  { cat "$work/npm.log" >&2; echo "nip98_interop: npm ci failed" >&2; exit 1; }
mkdir "$work/out"
(cd "$work" && node nip98_token.mjs out)

fail=0
# expect_fail LABEL HEADER_FILE METHOD URL BODY_FILE
expect_fail() {
  local label=$1 got
  shift
  if got=$("$verify" "$@"); then
    echo "FAIL $label: accepted ($got)"
    fail=1
  else
    echo "ok   $label refused: $got"
  fi
}

n=0
for h in "$work"/out/*.header; do
  c=${h%.header}
  name=$(basename "$c")
  url=$(cat "$c.url")
  method=$(cat "$c.method")
  n=$((n + 1))
  if ! got=$("$verify" "$h" "$method" "$url" "$c.body"); then
    echo "FAIL $name: refused: $got"
    fail=1
    continue
  fi
  read -r word pubkey _ <<<"$got"
  if [ "$word" != ok ] || [ "$pubkey" != "$(cat "$c.pubkey")" ]; then
    echo "FAIL $name: got '$got', want pubkey $(cat "$c.pubkey")"
    fail=1
    continue
  fi
  echo "ok   $name accepted"
  expect_fail "$name, another url" "$h" "$method" "${url}&z=1" "$c.body"
  expect_fail "$name, another method" "$h" DELETE "$url" "$c.body"
  cp "$c.body" "$c.body2"
  printf ' ' >>"$c.body2"
  expect_fail "$name, another body" "$h" "$method" "$url" "$c.body2"
done
if [ "$n" -lt 3 ]; then
  echo "FAIL: nip98_token.mjs made $n headers, want 3"
  fail=1
fi
exit $fail
