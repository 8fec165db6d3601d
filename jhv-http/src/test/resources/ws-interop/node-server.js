// Interop peer: a Node `ws` echo server on 127.0.0.1 (port 0 = any free port).
//   node node-server.js <deflate: on|off> [subprotocols it speaks, comma-separated, in preference order]
// Prints, one line per event (the Java test reads them):
//   READY port=<n>                          listening
//   OPEN path=<p> ext=<agreed extension names or -> agreed=<the response's header> offered=<the request's>
//   PONG-OK <payload> / PONG-BAD <expected> got <payload>
//   CLOSE code=<n> reason=<r>               the close code/reason the client sent
//   BYTES read=<n> written=<n>              socket bytes (to see that deflate shrank them)
// Echoes every message unchanged (text stays text), except text commands:
//   cmd:ping:<p>            sends a ping with payload <p>; answers "pong-ok:<p>" when the pong with
//                           the same payload arrives, "pong-bad:<got>" for another payload
//   cmd:close:<code>:<r>    closes with that code and reason
'use strict';
const { WebSocketServer } = require('ws');

const deflate = process.argv[2] === 'on';
const protocols = process.argv[3] ? process.argv[3].split(',') : [];
const out = (line) => process.stdout.write(line + '\n');

const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: 0,
  perMessageDeflate: deflate,
  maxPayload: 64 << 20,
  // the first of ours the client offered; none agreed (no header) without one
  handleProtocols: (offered) => protocols.find((p) => offered.has(p)) || false,
});

wss.on('listening', () => out('READY port=' + wss.address().port));
wss.on('error', (e) => { out('ERROR ' + e.message); process.exit(2); });

// The response's Sec-WebSocket-Extensions (the parameters agreed on), kept for the OPEN line.
wss.on('headers', (headers, req) => {
  const h = headers.find((l) => l.toLowerCase().startsWith('sec-websocket-extensions:'));
  req.agreedExtensions = h ? h.substring(h.indexOf(':') + 1).replace(/\s+/g, '') : '-';
});

wss.on('connection', (ws, req) => {
  out('OPEN path=' + req.url + ' proto=' + (ws.protocol || '-') + ' ext=' + (ws.extensions || '-') + ' agreed=' + (req.agreedExtensions || '-')
      + ' offered=' + (req.headers['sec-websocket-extensions'] || '-').replace(/\s+/g, ''));
  let expectedPong = null;
  ws.on('message', (data, isBinary) => {
    if (!isBinary) {
      const s = data.toString('utf8');
      if (s.startsWith('cmd:ping:')) {
        expectedPong = s.substring('cmd:ping:'.length);
        ws.ping(Buffer.from(expectedPong, 'utf8'));
        return;
      }
      if (s.startsWith('cmd:close:')) {
        const rest = s.substring('cmd:close:'.length);
        const i = rest.indexOf(':');
        ws.close(parseInt(rest.substring(0, i), 10), rest.substring(i + 1));
        return;
      }
    }
    ws.send(data, { binary: isBinary });
  });
  ws.on('pong', (data) => {
    const got = data.toString('utf8');
    if (expectedPong === null) { out('PONG-UNSOLICITED ' + got); return; }
    if (got === expectedPong) { out('PONG-OK ' + got); ws.send('pong-ok:' + got); }
    else { out('PONG-BAD ' + expectedPong + ' got ' + got); ws.send('pong-bad:' + got); }
    expectedPong = null;
  });
  ws.on('ping', (data) => out('PING ' + data.toString('utf8')));
  ws.on('error', (e) => out('WSERROR ' + e.message));
  const sock = req.socket;
  ws.on('close', (code, reason) => {
    out('CLOSE code=' + code + ' reason=' + reason.toString('utf8'));
    out('BYTES read=' + sock.bytesRead + ' written=' + sock.bytesWritten);
  });
});

// The test closes stdin (or dies): end with it, so the server never outlives the test.
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
