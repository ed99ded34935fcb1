#!/usr/bin/env node
// Misbehaving relays for tests/unit/nostr: node fake-relay.mjs RELAY_DIR MODE
// Prints "listening ws://127.0.0.1:PORT", then "connection" per accepted connection.
//   quiet    answers each REQ with EOSE only
//   garbage  answers each REQ with malformed frames, then one valid EVENT and EOSE
//   huge     sends a 2 MiB text frame on connect
//   hang     accepts TCP and never answers (no WebSocket handshake)
//   tls      like quiet, over wss:// with the key and certificate (PEM files) given after MODE
//   authrace sends an AUTH challenge, answers AUTH with OK true, and refuses the first REQ with
//            CLOSED auth-required sent after that OK (a relay that read the REQ before it
//            applied the AUTH); later REQs get EOSE
import { createRequire } from 'node:module';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';

const require = createRequire(path.resolve(process.argv[2] ?? '.', 'package.json'));
const { WebSocketServer } = require('ws');
const mode = process.argv[3] ?? 'quiet';
const say = (s) => process.stdout.write(s + '\n');

if (mode === 'hang') {
  const sockets = [];
  const server = net.createServer((s) => { sockets.push(s); s.on('error', () => {}); say('connection'); });
  server.listen(0, '127.0.0.1', () => say(`listening ws://127.0.0.1:${server.address().port}`));
} else {
  let wss;
  if (mode === 'tls') {
    const server = https.createServer({
      key: fs.readFileSync(process.argv[4]), cert: fs.readFileSync(process.argv[5]),
    });
    wss = new WebSocketServer({ server });
    server.listen(0, '127.0.0.1', () => say(`listening wss://127.0.0.1:${server.address().port}`));
  } else {
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    wss.on('listening', () => say(`listening ws://127.0.0.1:${wss.address().port}`));
  }
  wss.on('connection', (ws) => {
    say('connection');
    ws.on('error', () => {});
    if (mode === 'huge') ws.send('["NOTICE","' + 'x'.repeat(2 * 1024 * 1024) + '"]');
    let authed = false, refused = false, held = null;
    const refuse = (sub) => ws.send(JSON.stringify(['CLOSED', sub, 'auth-required: read before the AUTH']));
    if (mode === 'authrace') ws.send(JSON.stringify(['AUTH', 'challenge-1']));
    ws.on('message', (data) => {
      let msg;
      try { msg = JSON.parse(String(data)); } catch { return; }
      if (mode === 'authrace' && msg[0] === 'AUTH') {
        authed = true;
        ws.send(JSON.stringify(['OK', msg[1].id, true, '']));
        if (held !== null) refuse(held);
        return;
      }
      if (msg[0] !== 'REQ') return;
      const sub = msg[1];
      if (mode === 'authrace' && !refused) {
        refused = true;
        if (authed) refuse(sub); else held = sub;
        return;
      }
      if (mode === 'garbage') {
        const garbage = ['not json', '{"a":1}', '[]', '[1,2]', '"str"', '["EVENT"]',
          `["EVENT","${sub}",5]`, '["EOSE"]', '["OK","x"]', '["OK",1,true,""]', '["NOTICE"]',
          '["AUTH",5]', '["CLOSED"]', '['.repeat(5000) + ']'.repeat(5000), '[' + '"a",'.repeat(1000),
          '["UNKNOWN_VERB",1]', '\u0000\u0001'];
        for (const g of garbage) ws.send(g);
        ws.send(Buffer.from([0xff, 0x00, 0x13]), { binary: true });
        ws.send(JSON.stringify(['EVENT', sub, { id: 'ab', kind: 1, content: 'survivor', tags: [] }]));
      }
      ws.send(JSON.stringify(['EOSE', sub]));
    });
  });
}
process.on('SIGTERM', () => process.exit(0));
