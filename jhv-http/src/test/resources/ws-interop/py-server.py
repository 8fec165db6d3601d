"""Interop peer: a python `websockets` echo server on 127.0.0.1 (port 0 = any free port).

    /usr/bin/python3 py-server.py <deflate: on|off> [subprotocols it speaks, comma-separated]

Same line protocol as node-server.js: READY port=<n>; OPEN path=<p> ext=<names> agreed=<header>;
PING <p> (a ping received); PONG-OK <p> / PONG-BAD <p>; CLOSE code=<n> reason=<r>. Echoes every
message unchanged, except the text commands "cmd:ping:<p>" (pings with <p>; ping() waits for the
pong with that very payload, then the server answers "pong-ok:<p>", or "pong-bad:<p>" after 10 s)
and "cmd:close:<code>:<reason>". Ends when its stdin closes.
"""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import websockets  # noqa: E402
from py_common import ServerProtocol, agreed, out, version  # noqa: E402


async def handler(ws):
    names, header = agreed(ws)
    out(f"OPEN path={ws.path} proto={ws.subprotocol or '-'} ext={names} agreed={header}")
    try:
        async for msg in ws:
            if isinstance(msg, str) and msg.startswith("cmd:ping:"):
                p = msg[len("cmd:ping:"):]
                waiter = await ws.ping(p)
                try:
                    await asyncio.wait_for(waiter, 10)
                    out("PONG-OK " + p)
                    await ws.send("pong-ok:" + p)
                except asyncio.TimeoutError:
                    out("PONG-BAD " + p)
                    await ws.send("pong-bad:" + p)
            elif isinstance(msg, str) and msg.startswith("cmd:close:"):
                code, _, reason = msg[len("cmd:close:"):].partition(":")
                await ws.close(int(code), reason)
            else:
                await ws.send(msg)
    except websockets.ConnectionClosed:
        pass
    for p in ws.pings_seen:
        out("PING " + p.decode("utf-8", "replace"))
    await ws.wait_closed()
    out(f"CLOSE code={ws.close_code} reason={ws.close_reason}")


async def main():
    deflate = sys.argv[1] == "on"
    protocols = sys.argv[2].split(",") if len(sys.argv) > 2 and sys.argv[2] else None
    async with websockets.serve(handler, "127.0.0.1", 0, compression="deflate" if deflate else None,
                                max_size=64 << 20, ping_interval=None, close_timeout=10,
                                create_protocol=ServerProtocol, subprotocols=protocols) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        out(f"READY port={port} websockets={version()}")
        # Run until stdin ends (the test closed it, or died).
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.read)


if __name__ == "__main__":
    asyncio.run(main())
