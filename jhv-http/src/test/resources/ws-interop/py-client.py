"""Interop peer: a python `websockets` client against an echo server (jhv's, or another peer's).

    /usr/bin/python3 py-client.py <url> <deflate: on|off> <rounds> <client-close|server-close> <code> <reason> [subprotocols offered]

Does what node-client.js does, with the same output lines (OPEN ext=<names> agreed=<header>,
ECHO-OK, PONG-OK, SERVER-PING-OK, CLOSED code=<n> reason=<r>, DONE; FAIL <why> with exit 1).
The ping check relies on websockets' ping(): its future completes only for the pong that carries
the same payload.
"""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import websockets  # noqa: E402
from py_common import MB, ClientProtocol, agreed, out  # noqa: E402


class Fail(Exception):
    pass


def message_set():
    m = [("hello", True), ("", True), (MB, True), (bytes(range(256)), False), (b"", False)]
    for n in (125, 126, 127, 65535, 65536):
        m.append((bytes((i * 31 + 7) & 0xFF for i in range(n)), False))
    for n in (4096, 4097):
        m.append((("0123456789abcdef" * 257)[:n], True))
    lines, size, i = [], 0, 0
    while size < (1 << 20):
        line = f"{i} {MB}\n"
        lines.append(line)
        size += len(line.encode())
        i += 1
    m.append(("".join(lines), True))
    m.append((os.urandom(1 << 20), False))
    return m


async def run(url, deflate, rounds, mode, code, reason, protocols):
    async with websockets.connect(url, compression="deflate" if deflate else None, max_size=64 << 20,
                                  ping_interval=None, open_timeout=10, close_timeout=10,
                                  create_protocol=ClientProtocol, subprotocols=protocols) as ws:
        names, header = agreed(ws)
        out(f"OPEN proto={ws.subprotocol or '-'} ext={names} agreed={header}")
        if mode == "client-close":
            sent = [msg for _ in range(rounds) for msg in message_set()]
            payload = sum(len(d.encode()) if isinstance(d, str) else len(d) for d, _ in sent)

            async def send_all():
                for d, _ in sent:
                    await ws.send(d)

            sender = asyncio.create_task(send_all())
            for i, (d, text) in enumerate(sent):
                got = await ws.recv()
                if isinstance(got, str) != text:
                    raise Fail(f"echo #{i}: type {'text' if isinstance(got, str) else 'binary'}")
                if got != d:
                    raise Fail(f"echo #{i}: {len(got)} units differ from the {len(d)} sent")
            await sender
            out(f"ECHO-OK count={len(sent)} payload={payload}")

            # Fragmented messages (one compressed message with permessage-deflate), a ping between
            # two fragments: websockets sends an (async) iterable as fragments.
            frag_parts = ["fragmented ", MB + " " + "abc " * 1000, MB]
            frag_bin = os.urandom(70000)
            mid = {}

            async def text_fragments():
                yield frag_parts[0]
                mid["waiter"] = await ws.ping("between-fragments")
                yield frag_parts[1]
                yield frag_parts[2]

            await ws.send(text_fragments())
            await ws.send([frag_bin[:1], frag_bin[1:65537], frag_bin[65537:]])
            got = await ws.recv()
            if got != "".join(frag_parts):
                raise Fail(f"fragmented text: echo of {len(got)} units differs")
            got = await ws.recv()
            if got != frag_bin:
                raise Fail(f"fragmented binary: echo of {len(got)} units differs")
            try:
                await asyncio.wait_for(mid["waiter"], 10)
            except asyncio.TimeoutError:
                raise Fail("no pong with the payload of the ping between fragments")
            out(f"FRAG-OK text={len(''.join(frag_parts).encode())} binary={len(frag_bin)}")

            p = "py-ping-" + os.urandom(6).hex()
            waiter = await ws.ping(p)
            try:
                await asyncio.wait_for(waiter, 10)
            except asyncio.TimeoutError:
                raise Fail(f'no pong with the payload "{p}" within 10 s')
            out("PONG-OK " + p)

            sp = "srv-ping-" + os.urandom(4).hex()
            await ws.send("cmd:ping:" + sp)
            ans = await ws.recv()
            if ans != "pong-ok:" + sp:
                raise Fail(f'server ping: answer "{ans}"')
            if sp.encode() not in ws.pings_seen:
                raise Fail(f"server ping: pings seen {ws.pings_seen}")
            out("SERVER-PING-OK " + sp)
            await ws.close(code, reason)
        elif mode == "server-close":
            await ws.send(f"cmd:close:{code}:{reason}")
            await ws.wait_closed()
        else:
            raise Fail("unknown mode " + mode)
        await ws.wait_closed()
        out(f"CLOSED code={ws.close_code} reason={ws.close_reason}")
    out("DONE")


def main():
    url, deflate, rounds, mode, code, reason = sys.argv[1:7]
    protocols = sys.argv[7].split(",") if len(sys.argv) > 7 and sys.argv[7] else None
    try:
        asyncio.run(asyncio.wait_for(run(url, deflate == "on", int(rounds), mode, int(code), reason, protocols), 60))
    except Fail as e:
        out(f"FAIL {e}")
        sys.exit(1)
    except BaseException as e:  # noqa: BLE001 - anything else is a failure too, with its type
        out(f"FAIL {type(e).__name__}: {e}")
        sys.exit(1)


if __name__ == "__main__":
    main()
