#!/usr/bin/env node
// A Nostr client for the black-box tests, on nostr-tools (the reference library) and ws, both
// installed by scripts/nostr-relay-setup into RELAY_DIR:
//   node nostr_client.mjs RELAY_DIR keygen
//   node nostr_client.mjs RELAY_DIR dm URL SK RECIPIENT TEXT            NIP-17 gift wrap (prints its id)
//   node nostr_client.mjs RELAY_DIR nip04 URL SK RECIPIENT TEXT         legacy kind-4 DM
//   node nostr_client.mjs RELAY_DIR forged-seal URL SK RECIPIENT TEXT   a wrap whose seal's signature is broken
//   node nostr_client.mjs RELAY_DIR impersonate URL SK VICTIM RECIPIENT TEXT   rumor pubkey != seal pubkey
//   node nostr_client.mjs RELAY_DIR publish URL EVENT_JSON              a raw event (prints the relay's OK)
//   node nostr_client.mjs RELAY_DIR wait-dm URL SK COUNT TIMEOUT_MS     prints COUNT unwrapped rumors as JSON lines
//   node nostr_client.mjs RELAY_DIR query URL FILTER_JSON TIMEOUT_MS    prints stored events up to EOSE
//   node nostr_client.mjs RELAY_DIR nip98 SK METHOD URL [BODY [CREATED_AT]]  a NIP-98 Authorization value
// Keys are hex. The client answers a relay's NIP-42 AUTH with SK when it has one. Exit 1 on a
// timeout or a refused publish.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';

const [relayDir, cmd, ...args] = process.argv.slice(2);
const require = createRequire(path.resolve(relayDir, 'package.json'));
const WebSocket = require('ws');
const pure = require('nostr-tools/pure');
const nip04 = require('nostr-tools/nip04');
const nip19 = require('nostr-tools/nip19');
const nip44 = require('nostr-tools/nip44');
const nip59 = require('nostr-tools/nip59');
const nip17 = require('nostr-tools/nip17');

const hexToBytes = (h) => Uint8Array.from(Buffer.from(h, 'hex'));
const die = (msg) => { console.error(msg); process.exit(1); };

// Connects; answers AUTH with sk; resolves with {ws, send, next(pred, ms)}.
function connect(url, sk) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const queue = [];
    const waiters = [];
    ws.on('message', (data) => {
      let msg;
      try { msg = JSON.parse(data.toString()); } catch { return; }
      if (msg[0] === 'AUTH' && sk) {
        const ev = pure.finalizeEvent({ kind: 22242, created_at: Math.floor(Date.now() / 1000),
          tags: [['relay', url], ['challenge', msg[1]]], content: '' }, sk);
        ws.send(JSON.stringify(['AUTH', ev]));
        return;
      }
      queue.push(msg);
      for (const w of [...waiters]) w();
    });
    ws.on('error', reject);
    ws.on('open', () => resolve({
      ws,
      send: (m) => ws.send(JSON.stringify(m)),
      next: (pred, ms) => new Promise((res, rej) => {
        const t = setTimeout(() => rej(new Error('timeout')), ms);
        const check = () => {
          const i = queue.findIndex(pred);
          if (i < 0) return;
          const [m] = queue.splice(i, 1);
          clearTimeout(t);
          waiters.splice(waiters.indexOf(check), 1);
          res(m);
        };
        waiters.push(check);
        check();
      }),
    }));
  });
}

// Publishes ev; after an auth-required refusal, once more (the AUTH answer is in flight).
async function publish(url, ev, sk) {
  const c = await connect(url, sk);
  for (let attempt = 0; attempt < 3; attempt++) {
    c.send(['EVENT', ev]);
    const ok = await c.next((m) => m[0] === 'OK' && m[1] === ev.id, 5000);
    if (ok[2] || !String(ok[3]).startsWith('auth-required')) {
      c.ws.close();
      return ok;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  c.ws.close();
  return ['OK', ev.id, false, 'auth-required: gave up'];
}

async function published(url, ev, sk) {
  const ok = await publish(url, ev, sk);
  if (!ok[2]) die(`refused: ${ok[3]}`);
  console.log(ev.id);
}

function rumorOf(skHex, text, pubkey) {
  const sk = hexToBytes(skHex);
  const r = nip59.createRumor({ kind: 14, content: text, tags: [['p', pubkey]] }, sk);
  return r;
}

const now = () => Math.floor(Date.now() / 1000);
// @nostr-relay/core caches a filter's results (1 s, served stale once after that): a limit no
// other query uses makes each of ours a fresh one.
const uncached = () => 100000 + Math.floor(Math.random() * 1e9);

switch (cmd) {
  case 'keygen': {
    const sk = pure.generateSecretKey();
    const pk = pure.getPublicKey(sk);
    console.log(JSON.stringify({ sk: Buffer.from(sk).toString('hex'), pk, npub: nip19.npubEncode(pk) }));
    break;
  }
  case 'dm': {
    const [url, sk, to, text] = args;
    await published(url, nip17.wrapEvent(hexToBytes(sk), { publicKey: to }, text), hexToBytes(sk));
    break;
  }
  case 'nip04': {
    const [url, sk, to, text] = args;
    const content = nip04.encrypt(sk, to, text);
    const ev = pure.finalizeEvent({ kind: 4, created_at: now(), tags: [['p', to]], content }, hexToBytes(sk));
    await published(url, ev, hexToBytes(sk));
    break;
  }
  case 'forged-seal': {
    const [url, sk, to, text] = args;
    const seal = nip59.createSeal(rumorOf(sk, text, to), hexToBytes(sk), to);
    seal.sig = (seal.sig[0] === '0' ? '1' : '0') + seal.sig.slice(1);
    await published(url, nip59.createWrap(seal, to), hexToBytes(sk));
    break;
  }
  case 'impersonate': {
    const [url, sk, victim, to, text] = args;
    const rumor = { kind: 14, content: text, tags: [['p', to]], created_at: now(), pubkey: victim };
    rumor.id = pure.getEventHash(rumor);
    const seal = nip59.createSeal(rumor, hexToBytes(sk), to);
    await published(url, nip59.createWrap(seal, to), hexToBytes(sk));
    break;
  }
  case 'publish': {
    const [url, json] = args;
    const ok = await publish(url, JSON.parse(json), null);
    console.log(JSON.stringify(ok));
    if (!ok[2]) process.exit(1);
    break;
  }
  case 'wait-dm': {
    const [url, skHex, count, ms] = args;
    const sk = hexToBytes(skHex);
    const pk = pure.getPublicKey(sk);
    const c = await connect(url, sk);
    c.send(['REQ', 'w', { kinds: [1059], '#p': [pk], limit: uncached() }]);
    const deadline = Date.now() + Number(ms);
    let got = 0;
    while (got < Number(count)) {
      let m;
      try {
        m = await c.next((x) => x[0] === 'EVENT' && x[1] === 'w', Math.max(1, deadline - Date.now()));
      } catch { die(`wait-dm: ${got} of ${count} DMs in ${ms} ms`); }
      try {
        const rumor = nip59.unwrapEvent(m[2], sk);
        console.log(JSON.stringify(rumor));
        got++;
      } catch (e) { console.error(`wait-dm: cannot unwrap ${m[2].id}: ${e.message}`); }
    }
    c.ws.close();
    break;
  }
  case 'query': {
    const [url, filter, ms] = args;
    const c = await connect(url, null);
    c.send(['REQ', 'q', { limit: uncached(), ...JSON.parse(filter) }]);
    for (;;) {
      let m;
      try { m = await c.next((x) => x[1] === 'q', Number(ms)); } catch { die('query: timeout'); }
      if (m[0] === 'EOSE') break;
      if (m[0] === 'EVENT') console.log(JSON.stringify(m[2]));
      if (m[0] === 'CLOSED') die(`query: closed: ${m[2]}`);
    }
    c.ws.close();
    break;
  }
  case 'nip98': {
    const [sk, method, url, body, createdAt] = args;
    const tags = [['u', url], ['method', method]];
    if (body) tags.push(['payload', createHash('sha256').update(body).digest('hex')]);
    const ev = pure.finalizeEvent({ kind: 27235, created_at: createdAt ? Number(createdAt) : now(),
      tags, content: '' }, hexToBytes(sk));
    console.log('Nostr ' + Buffer.from(JSON.stringify(ev)).toString('base64'));
    break;
  }
  default:
    die(`unknown command ${cmd}`);
}
void nip44;
process.exit(0);
