// Interop between agent9's identity primitives (through interop_tool) and nostr-tools, the
// reference JS library, in both directions: NIP-19 npub, NIP-44 v2 (extended length prefix
// included), NIP-04 decryption, NIP-01 event ids and signatures, NIP-17 / NIP-59 gift wraps.
// Usage: node nostr_interop.mjs INTEROP_TOOL. Run it from a directory whose node_modules holds
// nostr-tools (interop.sh copies it there). Prints one line per check; exit 1 on any failure.
import { spawnSync } from 'node:child_process'
import {
  finalizeEvent,
  generateSecretKey,
  getEventHash,
  getPublicKey,
  nip04,
  nip17,
  nip19,
  nip44,
  nip59,
  verifyEvent,
} from 'nostr-tools'

const tool = process.argv[2]
if (!tool) {
  console.error('usage: node nostr_interop.mjs INTEROP_TOOL')
  process.exit(2)
}

const bytesToHex = bytes => Buffer.from(bytes).toString('hex')
const hexToBytes = hex => Uint8Array.from(Buffer.from(hex, 'hex'))

let failures = 0
let passes = 0
function check(name, cond, detail = '') {
  if (cond) {
    passes++
    console.log(`ok   ${name}`)
  } else {
    failures++
    console.log(`FAIL ${name}${detail ? ': ' + detail : ''}`)
  }
}

// Runs interop_tool CMD with req as JSON on stdin; returns {ok, out} (out = parsed stdout).
function cpp(cmd, req) {
  const r = spawnSync(tool, [cmd], { input: JSON.stringify(req), maxBuffer: 64 << 20 })
  if (r.error) throw r.error
  let out
  try {
    out = JSON.parse(r.stdout.toString())
  } catch {
    throw new Error(`interop_tool ${cmd}: no JSON (status ${r.status}): ${r.stderr}`)
  }
  return { ok: r.status === 0, out }
}
function cppOk(cmd, req) {
  const { ok, out } = cpp(cmd, req)
  if (!ok) throw new Error(`interop_tool ${cmd} failed: ${out.error}`)
  return out
}

function jsKey() {
  const sk = generateSecretKey()
  return { sk, skHex: bytesToHex(sk), pk: getPublicKey(sk) }
}
function cppKey() {
  const k = cppOk('keygen', {})
  return { sk: hexToBytes(k.sk), skHex: k.sk, pk: k.pk, npub: k.npub }
}
const short = s => (s.length > 40 ? `${s.length} bytes` : JSON.stringify(s))

// ---- keys and NIP-19
const c = cppKey()
const j = jsKey()
check('pubkey: getPublicKey(C++ sk) == C++ pk', getPublicKey(c.sk) === c.pk)
check('npub: C++ keygen npub == nip19.npubEncode', c.npub === nip19.npubEncode(c.pk))
check('npub: C++ npub of a JS key == nip19.npubEncode',
      cppOk('npub', { pk: j.pk }).npub === nip19.npubEncode(j.pk))
check('npub: C++ decodes a nip19 npub', cppOk('npub', { pk: nip19.npubEncode(j.pk) }).pk === j.pk)
check('npub: nip19.decode of a C++ npub', nip19.decode(c.npub).data === c.pk)

// ---- NIP-44 v2, both directions, short to extended-prefix lengths
const plaintexts = [
  'a',
  'hello, nostr',
  'ünïcödé 🦄 ' + '\u2028\u0000',
  'x'.repeat(65535), // the largest 2-byte length prefix
  'y'.repeat(65536), // the smallest extended (6-byte) prefix
  'z'.repeat(100000) + '€',
]
for (const p of plaintexts) {
  const fromJs = nip44.encrypt(p, nip44.getConversationKey(j.sk, c.pk))
  const dec = cpp('nip44-decrypt', { sk: c.skHex, pk: j.pk, payload: fromJs })
  check(`nip44 JS->C++ ${short(p)}`, dec.ok && dec.out.plaintext === p, dec.out.error)
  const fromCpp = cppOk('nip44-encrypt', { sk: c.skHex, pk: j.pk, plaintext: p }).payload
  let back
  try {
    back = nip44.decrypt(fromCpp, nip44.getConversationKey(j.sk, c.pk))
  } catch (e) {
    back = `error: ${e.message}`
  }
  check(`nip44 C++->JS ${short(p)}`, back === p, short(String(back)))
  check(`nip44 same payload size ${short(p)}`, fromJs.length === fromCpp.length)
}
{
  const payload = nip44.encrypt('secret', nip44.getConversationKey(j.sk, c.pk))
  const other = cppKey()
  const bad = cpp('nip44-decrypt', { sk: other.skHex, pk: j.pk, payload })
  check('nip44 JS->C++ with the wrong key fails (invalid MAC)',
        !bad.ok && /invalid MAC/.test(bad.out.error), bad.out.error)
}

// ---- NIP-04: content made by nostr-tools decrypts in C++
for (const p of ['a', 'exactly 16 bytes', 'legacy DM ✉ '.repeat(50)]) {
  const content = nip04.encrypt(j.sk, c.pk, p)
  const dec = cpp('nip04-decrypt', { sk: c.skHex, pk: j.pk, content })
  check(`nip04 JS->C++ ${short(p)}`, dec.ok && dec.out.plaintext === p, dec.out.error)
}

// ---- NIP-01 events: ids and signatures agree both ways
const contents = ['', 'plain', 'esc "\\ \n\r\t\b\f \u0001\u001f \u007f / \u2028 é 🦄']
const tags = [['e', 'a'.repeat(64), '', 'reply'], ['p', j.pk], ['t', 'x'], []]
for (const content of contents) {
  const ev = cppOk('sign-event', { sk: c.skHex, kind: 1, tags, content, created_at: 1700000000 })
  check(`event C++ signed -> nostr-tools verifyEvent ${short(content)}`, verifyEvent({ ...ev }))
  check(`event id C++ == getEventHash ${short(content)}`, ev.id === getEventHash(ev))
  const tampered = { ...ev, content: ev.content + '!' }
  check('event tampered C++ event fails in nostr-tools', !verifyEvent(tampered))

  const jsEv = finalizeEvent({ kind: 1, tags, content, created_at: 1700000000 }, j.sk)
  const v = cppOk('verify-event', { event: jsEv })
  check(`event nostr-tools signed -> C++ verify ${short(content)}`, v.ok === true, v.error)
  const bad = cppOk('verify-event', { event: { ...jsEv, created_at: jsEv.created_at + 1 } })
  check('event tampered JS event fails in C++', bad.ok === false)
}

// ---- NIP-17 / NIP-59 gift wraps, both directions
{
  const reply = 'b'.repeat(64)
  const wrap = nip17.wrapEvent(j.sk, { publicKey: c.pk }, 'hola from JS ☀', 'our topic', {
    eventId: reply,
  })
  const u = cpp('unwrap-dm', { sk: c.skHex, wrap })
  check('nip17 JS wrap -> C++ unwrap', u.ok, u.out.error)
  if (u.ok) {
    const r = u.out.rumor
    check('nip17 JS wrap: rumor content', r.content === 'hola from JS ☀')
    check('nip17 JS wrap: rumor author is the JS sender', r.pubkey === j.pk && u.out.seal.pubkey === j.pk)
    check('nip17 JS wrap: kind 14 and tags', r.kind === 14 &&
          JSON.stringify(r.tags) === JSON.stringify([['p', c.pk], ['e', reply, '', 'reply'], ['subject', 'our topic']]))
    check('nip17 JS wrap: rumor id is getEventHash', r.id === getEventHash(r))
  }
  const other = cppKey()
  const wrong = cpp('unwrap-dm', { sk: other.skHex, wrap })
  check('nip17 JS wrap -> C++ unwrap with another key fails', !wrong.ok, JSON.stringify(wrong.out))

  const generic = nip59.wrapEvent({ kind: 1, content: 'any event', tags: [['t', 'x']] }, j.sk, c.pk)
  const g = cpp('unwrap-dm', { sk: c.skHex, wrap: generic })
  check('nip59 JS wrap (kind 1) -> C++ unwrap', g.ok && g.out.rumor.content === 'any event' &&
        g.out.rumor.kind === 1, g.out.error)

  // A seal by JS key j whose rumor claims C++ key `other`: both sides must refuse it.
  const rumor = nip59.createRumor({ kind: 14, content: 'impersonation', tags: [] }, j.sk)
  rumor.pubkey = other.pk
  rumor.id = getEventHash(rumor)
  const forged = nip59.createWrap(nip59.createSeal(rumor, j.sk, c.pk), c.pk)
  const f = cpp('unwrap-dm', { sk: c.skHex, wrap: forged })
  check('nip59 seal pubkey != rumor pubkey is refused by C++',
        !f.ok && /seal pubkey differs from the rumor's/.test(f.out.error), f.out.error)
  let jsRefused = false
  try {
    nip59.unwrapEvent(forged, c.sk)
  } catch {
    jsRefused = true
  }
  check('nip59 seal pubkey != rumor pubkey is refused by nostr-tools', jsRefused)
}
{
  const now = Math.floor(Date.now() / 1000)
  const reply = 'c'.repeat(64)
  const w = cppOk('wrap-dm', {
    sk: c.skHex, recipient: j.pk, content: 'hi from C++ 🦄', created_at: now, reply_to: reply,
  })
  check('nip17 C++ wrap verifies in nostr-tools', verifyEvent({ ...w.wrap }))
  check('nip17 C++ wrap: kind 1059, p tag', w.wrap.kind === 1059 &&
        JSON.stringify(w.wrap.tags) === JSON.stringify([['p', j.pk]]))
  check('nip17 C++ wrap: created_at within two days', w.wrap.created_at <= now &&
        w.wrap.created_at >= now - 2 * 86400)
  let r
  try {
    r = nip17.unwrapEvent(w.wrap, j.sk)
  } catch (e) {
    r = { error: e.message }
  }
  check('nip17 C++ wrap -> nostr-tools unwrap', r.content === 'hi from C++ 🦄', r.error)
  check('nip17 C++ wrap: rumor author is the C++ sender', r.pubkey === c.pk)
  check('nip17 C++ wrap: kind 14, p and reply tags', r.kind === 14 &&
        JSON.stringify(r.tags) === JSON.stringify([['p', j.pk], ['e', reply, '', 'reply']]))
  check('nip17 C++ wrap: rumor id is getEventHash and unsigned', r.id === getEventHash(r) &&
        r.id === w.rumor.id && !('sig' in r) && r.created_at === now)
  const seal = JSON.parse(nip44.decrypt(w.wrap.content, nip44.getConversationKey(j.sk, w.wrap.pubkey)))
  check('nip17 C++ seal: kind 13, no tags, signed by the sender', seal.kind === 13 &&
        seal.tags.length === 0 && seal.pubkey === c.pk && verifyEvent(seal))
  check('nip17 C++ wrap: one-time wrap key', w.wrap.pubkey !== c.pk && w.wrap.pubkey !== j.pk)
}

console.log(`${passes} passed, ${failures} failed`)
process.exit(failures ? 1 : 0)
