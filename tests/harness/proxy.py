"""A loopback TCP proxy in front of a test server that a test can kill, restart and tamper with.

``FaultProxy`` listens on 127.0.0.1 (a fixed port across restarts) and forwards every connection
to ``upstream`` (a loopback port). ``stop()`` closes the listening socket and every open
connection under the client (a cut, not a close by the client); ``start()`` listens again.
``rules`` act on requests whose first line matches: answer with a canned HTTP status without
forwarding (``answer``), or forward the request and drop the connection instead of passing the
answer back (``lose_answer``). Each rule acts on the ``nth`` matching request (1-based) only.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass, field

_LOOPBACK = "127.0.0.1"
_BUFFER = 65536


@dataclass
class Rule:
    """What to do with the ``nth`` request whose request line contains ``match``."""

    match: bytes
    nth: int = 1
    answer: int | None = None  # a status to answer with, never forwarding the request
    lose_answer: bool = False  # forward the request, then cut instead of answering
    seen: int = 0
    fired: int = 0


def _canned(status: int) -> bytes:
    body = b'{"detail":"injected by the fault proxy"}'
    head = (
        f"HTTP/1.1 {status} Injected\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + body


@dataclass
class FaultProxy:
    upstream: int
    port: int = 0
    rules: list[Rule] = field(default_factory=list)
    cuts: int = 0
    _listener: socket.socket | None = None
    _open: set[socket.socket] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://{_LOOPBACK}:{self.port}"

    def start(self) -> FaultProxy:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        for attempt in range(50):  # the old listener's accept() may still be letting go
            try:
                listener.bind((_LOOPBACK, self.port))
                break
            except OSError:
                if attempt == 49:
                    raise
                time.sleep(0.02)
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop listening and cut every open connection (RST, as a dying peer would)."""
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):  # shutdown wakes the thread blocked in accept()
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            conns, self._open = set(self._open), set()
        for conn in conns:
            self._cut(conn)
        self.cuts += 1

    def restart(self) -> None:
        self.stop()
        self.start()

    @staticmethod
    def _cut(conn: socket.socket) -> None:
        try:
            conn.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
            conn.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        conn.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # the listener was closed
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _rule_for(self, data: bytes) -> Rule | None:
        line = data.split(b"\r\n", 1)[0]
        with self._lock:
            for rule in self.rules:
                if rule.match in line:
                    rule.seen += 1
                    if rule.seen == rule.nth:
                        rule.fired += 1
                        return rule
        return None

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection((_LOOPBACK, self.upstream), timeout=10)
        except OSError:
            self._cut(client)
            return
        upstream.settimeout(None)
        with self._lock:
            self._open.update((client, upstream))
        lose = threading.Event()
        threading.Thread(target=self._pipe_back, args=(upstream, client, lose), daemon=True).start()
        try:
            while True:
                data = client.recv(_BUFFER)
                if not data:
                    break
                rule = self._rule_for(data)
                if rule is not None and rule.answer is not None:
                    client.sendall(_canned(rule.answer))
                    break
                if rule is not None and rule.lose_answer:
                    lose.set()
                upstream.sendall(data)
        except OSError:
            pass
        finally:
            if not lose.is_set():
                self._drop(client, upstream)

    def _pipe_back(
        self, upstream: socket.socket, client: socket.socket, lose: threading.Event
    ) -> None:
        try:
            while True:
                data = upstream.recv(_BUFFER)
                if not data:
                    break
                if lose.is_set():
                    break  # the server answered: the answer never reaches the client
                client.sendall(data)
        except OSError:
            pass
        finally:
            self._drop(client, upstream)

    def _drop(self, client: socket.socket, upstream: socket.socket) -> None:
        with self._lock:
            self._open.discard(client)
            self._open.discard(upstream)
        self._cut(client)
        upstream.close()


__all__ = ["FaultProxy", "Rule"]
