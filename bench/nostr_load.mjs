#!/usr/bin/env node
// Nostr load for bench/identity.sh, on nostr-tools and ws as installed by
// scripts/nostr-relay-setup into RELAY_DIR (the loopback relay's dir):
//
//   node nostr_load.mjs RELAY_DIR flood URL --kind note|dm --n N --window W
//        [--to PUBKEY] [--api BASE --token T --agent ID] [--timeout-ms MS]
//     Makes N events first (untimed), then publishes them on one WebSocket to the relay at
//     URL, keeping up to W unanswered (each OK frees a slot), and prints one JSON line:
//     publish_per_s = accepted events / (last OK - first send). kind note: kind-1 notes
//     signed by a fresh key; kind dm: NIP-17 gift-wrapped DMs (kind 1059) to PUBKEY. With
//     --api, also polls GET BASE/v1/agents/ID (every 10 ms, bearer T) until its queue_depth
//     has grown by N: land_per_s = N / (that moment - first send).
//
//   node nostr_load.mjs RELAY_DIR rtt URL --to PUBKEY --n N --api BASE --token T --agent ID
//        [--warmup W] [--timeout-ms MS]
//   node nostr_load.mjs RELAY_DIR rtt URL --loop 1 --n N
//     Sends N NIP-17 DMs to PUBKEY (an echo agent) one at a time: each is sent once the
//     echo's reply DM to the previous one has arrived on this client's subscription. Per DM:
//     rtt = reply's arrival - send. Then reads the agent's logs/trajectory over BASE and
//     matches each DM (trigger message_id "nostr-<rumor id>") to its tick: tick = the tick's
//     started_at - send (ms resolution; same clock). Prints one JSON line with p50/p99/max.
//     The first W DMs (default 3) warm the path (the daemon's DM-relay lookup of this client,
//     cached afterwards) and are not counted. With --loop 1 (the baseline: one relay hop) the
//     DMs go to this client's own key and each comes back itself; no agent, no trajectory.
//
// The gift wraps have exactly nip17.wrapEvent's structure (kind-14 rumor with a p tag ->
// kind-13 seal, NIP-44 from the sender, dates up to two days back -> kind-1059 wrap, NIP-44
// from a one-time key, p tag). They are made with nostr-tools' nip44 and event hashing, signed
// with nostr-tools/wasm (libsecp256k1), the conversation keys computed once, and the wraps'
// one-time keys drawn from a pool of 16: made with nip17.wrapEvent (pure-JS ECDH and signing
// per wrap) the generator would be far slower than the relay. Neither the relay nor the
// daemon caches anything per key, so what they do per event is unchanged. Each run first
// checks that a wrap made this way to a key of ours opens with nip59.unwrapEvent.
import { createRequire } from 'node:module';
import path from 'node:path';

const [relayDir, cmd, url, ...rest] = process.argv.slice(2);
const require = createRequire(path.resolve(relayDir, 'package.json'));
const WebSocket = require('ws');
const pure = require('nostr-tools/pure');
const wasm = require('nostr-tools/wasm');
const nip44 = require('nostr-tools/nip44');
const nip59 = require('nostr-tools/nip59');
const { initNostrWasm } = require('nostr-wasm');

const die = (msg) => { console.error(`nostr_load: ${msg}`); process.exit(1); };
const opt = {};
for (let i = 0; i < rest.length; i += 2) {
  if (!rest[i].startsWith('--')) die(`bad argument ${rest[i]}`);
  opt[rest[i].slice(2)] = rest[i + 1];
}
const num = (k, d) => (opt[k] === undefined ? d : Number(opt[k]));
const nowMs = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const TWO_DAYS = 2 * 24 * 60 * 60;
const unix = () => Math.floor(Date.now() / 1000);
const randomPast = () => Math.round(unix() - Math.random() * TWO_DAYS);

wasm.setNostrWasm(await initNostrWasm());
const sign = (template, sk) => wasm.finalizeEvent(template, sk);

// One sender key and its gift-wrap maker for a recipient.
function dmMaker(recipient, sk = pure.generateSecretKey()) {
  const pk = pure.getPublicKey(sk);
  const sealKey = nip44.getConversationKey(sk, recipient);
  const pool = [];
  for (let i = 0; i < 16; i++) {
    const esk = pure.generateSecretKey();
    pool.push({ sk: esk, ck: nip44.getConversationKey(esk, recipient) });
  }
  let n = 0;
  return {
    sk, pk,
    // -> {wrap, rumorId}
    make(text) {
      const rumor = { kind: 14, created_at: unix(), tags: [['p', recipient]], content: text, pubkey: pk };
      rumor.id = pure.getEventHash(rumor);
      const seal = sign({ kind: 13, content: nip44.encrypt(JSON.stringify(rumor), sealKey),
        created_at: randomPast(), tags: [] }, sk);
      const e = pool[n++ % pool.length];
      const wrap = sign({ kind: 1059, content: nip44.encrypt(JSON.stringify(seal), e.ck),
        created_at: randomPast(), tags: [['p', recipient]] }, e.sk);
      return { wrap, rumorId: rumor.id };
    },
  };
}

// nostr-tools opens what dmMaker makes (a wrap to a key of ours): signatures and layers.
function selfCheck() {
  const rsk = pure.generateSecretKey();
  const m = dmMaker(pure.getPublicKey(rsk));
  const { wrap, rumorId } = m.make('self-check');
  const rumor = nip59.unwrapEvent(wrap, rsk);
  if (!pure.verifyEvent(wrap) || rumor.content !== 'self-check' || rumor.pubkey !== m.pk ||
      rumor.id !== rumorId || rumor.kind !== 14) die('self-check: nip59.unwrapEvent disagrees');
}

// Opens a WebSocket; onMsg gets each parsed frame.
function connect(onMsg) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on('message', (data) => {
      let m;
      try { m = JSON.parse(data.toString()); } catch { return; }
      onMsg(m);
    });
    ws.on('error', reject);
    ws.on('open', () => resolve(ws));
  });
}

async function api(p) {
  const r = await fetch(opt.api + p, { headers: { Authorization: `Bearer ${opt.token}` } });
  if (!r.ok) die(`GET ${p}: ${r.status} ${await r.text()}`);
  return r;
}
const depth = async () => (await (await api(`/v1/agents/${opt.agent}`)).json()).queue_depth;

async function flood() {
  const n = num('n', 500);
  const window = num('window', 8);
  const timeout = num('timeout-ms', 60000);
  const t0gen = nowMs();
  const events = [];
  if (opt.kind === 'dm') {
    if (!opt.to) die('--kind dm needs --to');
    selfCheck();
    const m = dmMaker(opt.to);
    const tag = Math.random().toString(36).slice(2);
    for (let i = 0; i < n; i++) events.push(m.make(`bench ${tag} ${i}`).wrap);
  } else {
    const sk = pure.generateSecretKey();
    const tag = Math.random().toString(36).slice(2);
    for (let i = 0; i < n; i++) {
      events.push(sign({ kind: 1, created_at: unix(), tags: [], content: `bench ${tag} ${i}` }, sk));
    }
  }
  const genS = (nowMs() - t0gen) / 1000;
  const d0 = opt.api ? await depth() : 0;

  let next = 0, inflight = 0, ok = 0, refused = 0, lastOk = 0, firstRefusal = '';
  const pending = new Set();
  let finish;
  const finished = new Promise((r) => { finish = r; });
  let ws;
  const pump = () => {
    while (inflight < window && next < n) {
      const ev = events[next++];
      pending.add(ev.id);
      inflight++;
      ws.send(JSON.stringify(['EVENT', ev]));
    }
  };
  ws = await connect((m) => {
    if (m[0] !== 'OK' || !pending.delete(m[1])) return;
    inflight--;
    if (m[2]) ok++; else { refused++; if (!firstRefusal) firstRefusal = String(m[3]); }
    lastOk = nowMs();
    if (ok + refused === n) finish();
    else pump();
  });
  const t0 = nowMs();
  let tLand = 0, dEnd = d0;
  pump();
  const timer = setTimeout(() => die(`flood: in ${timeout} ms ${ok + refused} of ${n} answered` +
    (opt.api ? `, the inbox grew by ${dEnd - d0}` : '')), timeout);
  // Landing: the agent's queue depth, polled while the events go out.
  const landing = opt.api ? (async () => {
    while (nowMs() - t0 < timeout) {
      dEnd = await depth();
      if (dEnd >= d0 + n) { tLand = nowMs(); return; }
      await sleep(10);
    }
  })() : Promise.resolve();
  await finished;
  await landing;
  clearTimeout(timer);
  ws.close();
  if (opt.api && !tLand) die(`flood: the inbox grew by ${dEnd - d0} of ${n} in ${timeout} ms`);
  const out = {
    kind: opt.kind, n, window, gen_s: +genS.toFixed(3), ok, refused,
    publish_s: +((lastOk - t0) / 1000).toFixed(3),
    publish_per_s: +(ok / ((lastOk - t0) / 1000)).toFixed(1),
  };
  if (firstRefusal) out.first_refusal = firstRefusal;
  if (opt.api) {
    out.land_s = +((tLand - t0) / 1000).toFixed(3);
    out.land_per_s = +(n / ((tLand - t0) / 1000)).toFixed(1);
    out.depth_before = d0;
    out.depth_after = dEnd;
  }
  console.log(JSON.stringify(out));
}

const pct = (v, q) => {
  if (!v.length) return null;
  const s = [...v].sort((a, b) => a - b);
  return s[Math.min(s.length, Math.max(1, Math.ceil(q * s.length))) - 1];
};

async function rtt() {
  const n = num('n', 200);
  const warm = num('warmup', 3);
  const timeout = num('timeout-ms', 10000);
  const loop = opt.loop === '1';
  if (!loop && (!opt.to || !opt.api)) die('rtt needs --to and --api, or --loop 1');
  selfCheck();
  let m;
  if (loop) {
    const sk = pure.generateSecretKey();
    m = dmMaker(pure.getPublicKey(sk), sk);
  } else {
    m = dmMaker(opt.to);
  }
  const tag = Math.random().toString(36).slice(2);
  const dms = [];
  for (let i = 0; i < warm + n; i++) dms.push({ text: `rtt ${tag} ${i}`, ...m.make(`rtt ${tag} ${i}`) });

  let waiter = null;
  const replies = [];
  const ws = await connect((msg) => {
    if (msg[0] !== 'EVENT' || msg[1] !== 'r') return;
    const at = nowMs();
    replies.push({ at, ev: msg[2] });
    if (waiter) { const w = waiter; waiter = null; w(); }
  });
  // Our replies: gift wraps to our key (dated up to two days back).
  ws.send(JSON.stringify(['REQ', 'r', { kinds: [1059], '#p': [m.pk], since: unix() - TWO_DAYS - 3600 }]));
  await sleep(100);
  const samples = [];
  for (let i = 0; i < dms.length; i++) {
    const d = dms[i];
    const got = new Promise((res, rej) => {
      const t = setTimeout(() => rej(new Error(`no reply to DM ${i} in ${timeout} ms`)), timeout);
      waiter = () => { clearTimeout(t); res(); };
    });
    const sent = nowMs();
    ws.send(JSON.stringify(['EVENT', d.wrap]));
    try { await got; } catch (e) { die(e.message); }
    const r = replies.shift();
    if (loop) {
      if (r.ev.id !== d.wrap.id) die(`DM ${i}: another event came back`);
    } else {
      const rumor = nip59.unwrapEvent(r.ev, m.sk);  // after the timing: matches reply to DM
      if (rumor.content !== d.text) die(`DM ${i}: the reply says ${JSON.stringify(rumor.content)}`);
      if (!rumor.tags.some((t) => t[0] === 'e' && t[1] === d.rumorId)) die(`DM ${i}: the reply does not answer it`);
    }
    if (i >= warm) samples.push({ id: d.rumorId, sent, rtt: r.at - sent });
  }
  ws.close();
  const rtts = samples.map((s) => s.rtt);
  const f = (v) => +v.toFixed(2);
  const out = { n: samples.length, warmup: warm };
  if (loop) {
    console.log(JSON.stringify({ ...out, rtt_p50_ms: f(pct(rtts, 0.5)), rtt_p99_ms: f(pct(rtts, 0.99)),
      rtt_max_ms: f(pct(rtts, 1)) }));
    return;
  }
  // The ticks: started_at of the tick whose trigger is each DM.
  const text = await (await api(`/v1/fs/agents/${opt.agent}/logs/trajectory`)).text();
  const started = new Map();
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const rec = JSON.parse(line);
    const mid = rec.trigger?.message_id;
    if (mid?.startsWith('nostr-')) started.set(mid.slice(6), Date.parse(rec.started_at));
  }
  const tick = [];
  for (const s of samples) {
    if (!started.has(s.id)) die(`no tick in logs/trajectory for rumor ${s.id}`);
    tick.push(started.get(s.id) - s.sent);
  }
  console.log(JSON.stringify({
    ...out,
    tick_p50_ms: f(pct(tick, 0.5)), tick_p99_ms: f(pct(tick, 0.99)), tick_max_ms: f(pct(tick, 1)),
    rtt_p50_ms: f(pct(rtts, 0.5)), rtt_p99_ms: f(pct(rtts, 0.99)), rtt_max_ms: f(pct(rtts, 1)),
  }));
}

if (cmd === 'flood') await flood();
else if (cmd === 'rtt') await rtt();
else die(`unknown command ${cmd}`);
process.exit(0);
