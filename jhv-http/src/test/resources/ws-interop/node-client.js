// Interop peer: a Node `ws` client against an echo server (jhv's, or another peer's).
//   node node-client.js <url> <deflate: on|off> <rounds> <client-close|server-close> <code> <reason> [subprotocols offered, comma-separated]
// client-close: sends <rounds> x the message set (text, empty, multi-byte UTF-8, binary at the frame
//   length boundaries, 1 MiB compressible text, 1 MiB random binary) and checks every echo is the same
//   message (type and bytes, in order); pings with a payload and checks the pong echoes it; asks the
//   server to ping ("cmd:ping:<p>", the server answers "pong-ok:<p>" once its pong came back);
//   then closes with <code> <reason> and reports the code the server answered with.
// server-close: sends "cmd:close:<code>:<reason>" and reports the close code the server sent.
// Prints one line per step: OPEN ext=<names> agreed=<the response's header>, ECHO-OK ..., PONG-OK ..., SERVER-PING-OK ...,
// CLOSED code=<n> reason=<r>, BYTES payload=<n> read=<n> written=<n>, DONE; FAIL <why> (exit 1).
'use strict';
const WebSocket = require('ws');
const crypto = require('crypto');

const [url, deflateArg, roundsArg, mode, codeArg, reason, protocolsArg] = process.argv.slice(2);
const deflate = deflateArg === 'on';
const rounds = parseInt(roundsArg, 10);
const code = parseInt(codeArg, 10);
const out = (line) => process.stdout.write(line + '\n');
const fail = (why) => { out('FAIL ' + why); process.exit(1); };
setTimeout(() => fail('timed out'), 60000).unref();

const MB = 'héllo wörld — Ελληνικά — русский — 日本語 — 🎉🚀 — 𝄞';

function messageSet() {
  const m = [];
  m.push({ text: true, data: Buffer.from('hello', 'utf8') });
  m.push({ text: true, data: Buffer.alloc(0) });
  m.push({ text: true, data: Buffer.from(MB, 'utf8') });
  const b = Buffer.alloc(256);
  for (let i = 0; i < 256; i++) b[i] = i;
  m.push({ text: false, data: b });
  m.push({ text: false, data: Buffer.alloc(0) });
  for (const n of [125, 126, 127, 65535, 65536]) {
    const x = Buffer.alloc(n);
    for (let i = 0; i < n; i++) x[i] = (i * 31 + 7) & 0xff;
    m.push({ text: false, data: x });
  }
  for (const n of [4096, 4097]) m.push({ text: true, data: Buffer.from('0123456789abcdef'.repeat(257).substring(0, n), 'utf8') });
  const lines = [];
  for (let i = 0, n = 0; n < (1 << 20); i++) {
    const line = i + ' ' + MB + '\n';
    lines.push(line);
    n += Buffer.byteLength(line, 'utf8');
  }
  m.push({ text: true, data: Buffer.from(lines.join(''), 'utf8') });
  m.push({ text: false, data: crypto.randomBytes(1 << 20) });
  return m;
}

const ws = new WebSocket(url, protocolsArg ? protocolsArg.split(',') : [], { perMessageDeflate: deflate, maxPayload: 64 << 20 });
ws.on('error', (e) => fail('error: ' + e.message));
const received = [];
let onMsg = null;
ws.on('message', (data, isBinary) => {
  received.push({ text: !isBinary, data });
  if (onMsg) onMsg();
});
const next = () => new Promise((resolve) => {
  if (received.length) return resolve(received.shift());
  onMsg = () => { onMsg = null; resolve(received.shift()); };
});
const closed = new Promise((resolve) => ws.on('close', (c, r) => resolve([c, r.toString('utf8')])));

async function run() {
  let agreedHeader = '-';
  ws.once('upgrade', (res) => { agreedHeader = (res.headers['sec-websocket-extensions'] || '-').replace(/\s+/g, ''); });
  await new Promise((resolve) => ws.once('open', resolve));
  out('OPEN proto=' + (ws.protocol || '-') + ' ext=' + (ws.extensions || '-') + ' agreed=' + agreedHeader);
  let payload = 0;
  if (mode === 'client-close') {
    const sent = [];
    for (let r = 0; r < rounds; r++) sent.push(...messageSet());
    for (const s of sent) { ws.send(s.data, { binary: !s.text }); payload += s.data.length; }
    for (let i = 0; i < sent.length; i++) {
      const got = await next();
      if (got.text !== sent[i].text) fail('echo #' + i + ': type ' + (got.text ? 'text' : 'binary'));
      if (!got.data.equals(sent[i].data)) fail('echo #' + i + ': ' + got.data.length + ' bytes differ from the ' + sent[i].data.length + ' sent');
    }
    out('ECHO-OK count=' + sent.length + ' payload=' + payload);

    // Fragmented messages (compressed as one message with permessage-deflate): text cut inside
    // multi-byte characters, a ping between two fragments, binary cut at the 16-bit length edge.
    const fragText = Buffer.from('fragmented ' + MB + ' ' + 'abc '.repeat(1000) + MB, 'utf8');
    const cut1 = fragText.indexOf(Buffer.from('日', 'utf8')) + 1;
    const cut2 = fragText.length - 2;
    const fragBin = crypto.randomBytes(70000);
    const midPong = new Promise((resolve) => ws.once('pong', (d) => resolve(d.toString('utf8'))));
    ws.send(fragText.subarray(0, cut1), { binary: false, fin: false });
    ws.ping(Buffer.from('between-fragments', 'utf8'));
    ws.send(fragText.subarray(cut1, cut2), { binary: false, fin: false });
    ws.send(fragText.subarray(cut2), { binary: false, fin: true });
    ws.send(fragBin.subarray(0, 1), { binary: true, fin: false });
    ws.send(fragBin.subarray(1, 65537), { binary: true, fin: false });
    ws.send(fragBin.subarray(65537), { binary: true, fin: true });
    const ft = await next();
    if (!ft.text || !ft.data.equals(fragText)) fail('fragmented text: echo of ' + ft.data.length + ' bytes differs');
    const fb = await next();
    if (fb.text || !fb.data.equals(fragBin)) fail('fragmented binary: echo of ' + fb.data.length + ' bytes differs');
    const mp = await midPong;
    if (mp !== 'between-fragments') fail('pong "' + mp + '" to the ping between fragments');
    out('FRAG-OK text=' + fragText.length + ' binary=' + fragBin.length);

    const p = 'node-ping-' + crypto.randomBytes(6).toString('hex');
    const pong = new Promise((resolve) => ws.once('pong', (d) => resolve(d.toString('utf8'))));
    ws.ping(Buffer.from(p, 'utf8'));
    const gotPong = await pong;
    if (gotPong !== p) fail('pong payload "' + gotPong + '" for ping "' + p + '"');
    out('PONG-OK ' + p);

    let peerPing = null;
    ws.once('ping', (d) => { peerPing = d.toString('utf8'); });
    const sp = 'srv-ping-' + crypto.randomBytes(4).toString('hex');
    ws.send('cmd:ping:' + sp);
    const ans = await next();
    if (ans.text !== true || ans.data.toString('utf8') !== 'pong-ok:' + sp) fail('server ping: answer "' + ans.data.toString('utf8') + '"');
    if (peerPing !== sp) fail('server ping: ping payload seen "' + peerPing + '"');
    out('SERVER-PING-OK ' + sp);
    ws.close(code, reason);
  } else if (mode === 'server-close') {
    ws.send('cmd:close:' + code + ':' + reason);
  } else {
    fail('unknown mode ' + mode);
  }
  const [c, r] = await closed;
  out('CLOSED code=' + c + ' reason=' + r);
  out('BYTES payload=' + payload + ' read=' + ws._socket.bytesRead + ' written=' + ws._socket.bytesWritten);
  out('DONE');
  process.exit(0);
}
run().catch((e) => fail('exception: ' + (e && e.stack || e)));
