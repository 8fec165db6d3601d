"""Shared by the python `websockets` interop peers (Debian's python3-websockets, legacy asyncio API)."""
import sys

import websockets
from websockets.legacy.client import WebSocketClientProtocol
from websockets.legacy.server import WebSocketServerProtocol

MB = "héllo wörld — Ελληνικά — русский — 日本語 — 🎉🚀 — 𝄞"


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def agreed(ws):
    """The extensions agreed on, by name ("-" for none), and the response's header."""
    names = ",".join(e.name for e in ws.extensions) or "-"
    header = ws.response_headers.get("Sec-WebSocket-Extensions", "-").replace(" ", "")
    return names, header


class PingRecorder:
    """Records the payloads of the pings received (the protocol answers each with pong(payload))."""

    async def pong(self, data=b""):
        self.pings_seen.append(bytes(data) if not isinstance(data, str) else data.encode())
        await super().pong(data)


class ClientProtocol(PingRecorder, WebSocketClientProtocol):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.pings_seen = []


class ServerProtocol(PingRecorder, WebSocketServerProtocol):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.pings_seen = []


def version():
    return websockets.__version__
