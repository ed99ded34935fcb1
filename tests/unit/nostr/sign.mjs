#!/usr/bin/env node
// Test signer for tests/unit/nostr: node sign.mjs RELAY_DIR < templates.jsonl
// Each input line is an event template {kind, content, tags, created_at?, key?}; each output line
// is that event signed with nostr-tools' finalizeEvent by a fixed test key (key 1 by default,
// key N = 32 bytes of N). RELAY_DIR is where scripts/nostr-relay-setup installed nostr-tools.
import { createRequire } from 'node:module';
import path from 'node:path';
import readline from 'node:readline';

const require = createRequire(path.resolve(process.argv[2] ?? '.', 'package.json'));
const { finalizeEvent, getPublicKey } = require('nostr-tools/pure');

const keyFor = (n) => Uint8Array.from({ length: 32 }, () => n);
const rl = readline.createInterface({ input: process.stdin });
const out = [];
for await (const line of rl) {
  if (!line.trim()) continue;
  const t = JSON.parse(line);
  if (t.pubkey_of !== undefined) {
    out.push(JSON.stringify({ pubkey: getPublicKey(keyFor(t.pubkey_of)) }));
    continue;
  }
  const sk = keyFor(t.key ?? 1);
  out.push(JSON.stringify(finalizeEvent({
    kind: t.kind ?? 1,
    content: t.content ?? '',
    tags: t.tags ?? [],
    created_at: t.created_at ?? Math.floor(Date.now() / 1000),
  }, sk)));
}
process.stdout.write(out.join('\n') + '\n');
