// Makes NIP-98 Authorization headers with the reference client library, nostr-tools'
// nip98.getToken, for tests/interop/nip98_interop.sh to feed to our verifier.
// Usage: node nip98_token.mjs OUT_DIR   (run from a dir where nostr-tools is installed)
// For each case it writes OUT_DIR/<case>.{header,url,method,body,pubkey}. getToken hashes
// JSON.stringify(payload) into the payload tag, so .body holds exactly that string.
import { getToken } from 'nostr-tools/nip98'
import { finalizeEvent, generateSecretKey, getPublicKey } from 'nostr-tools/pure'
import fs from 'node:fs'
import path from 'node:path'

const out = process.argv[2]
if (!out) {
  console.error('usage: node nip98_token.mjs OUT_DIR')
  process.exit(2)
}
const sk = generateSecretKey()
const pubkey = getPublicKey(sk)
const sign = async (event) => finalizeEvent(event, sk)

const base = 'http://127.0.0.1:7909/v1/agents/alice'
const cases = [
  { name: 'post_payload', url: `${base}/send?x=1`, method: 'POST', scheme: true,
    payload: { text: 'hi' } },
  { name: 'get_no_payload', url: `${base}/status`, method: 'GET', scheme: false },
  { name: 'put_unicode', url: `${base}/files/notes%20a.txt?mode=append&y=%C3%A9`, method: 'PUT',
    scheme: true, payload: { text: 'h\u00e9llo \u2713 "q" \\', n: [1, 2.5, null] } },
]
for (const c of cases) {
  const header = await getToken(c.url, c.method, sign, c.scheme, c.payload)
  const body = c.payload ? JSON.stringify(c.payload) : ''
  const write = (ext, text) => fs.writeFileSync(path.join(out, `${c.name}.${ext}`), text)
  write('header', header)
  write('url', c.url)
  write('method', c.method)
  write('body', body)
  write('pubkey', pubkey)
  console.log(`${c.name}: ${header.slice(0, 40)}...`)
}
