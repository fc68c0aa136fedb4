"""A loopback link that a test can cut and mend: a real network partition between two running
chain nodes, without stopping either.

The Clique network's nodes dial only their static peers (discovery is off), so giving node i
the port of a ``TcpLink`` to node j as j's address puts every byte from i to j through it:
devp2p's TCP connection and the UDP ping that comes first (the client bonds with a bootnode
over UDP before it dials it; its pings announce no TCP port of its own, so j never learns a
way to i that avoids the link). ``cut()`` closes the connections it carries, drops datagrams
and refuses new connections until ``mend()``: to both nodes the other is simply gone, as when
a cable is pulled.
"""

from __future__ import annotations

import contextlib
import socket
import threading

_CHUNK = 65536


class TcpLink:
    """Forward ``127.0.0.1:port`` to ``127.0.0.1:target`` while not cut."""

    def __init__(self, target: int) -> None:
        self.target = target
        self._listener, self._datagrams = _tcp_and_udp_on_one_port()
        self.port: int = self._listener.getsockname()[1]
        self._upstream = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._upstream.bind(("127.0.0.1", 0))
        self._client: tuple[str, int] | None = None
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._cut = False
        self._closed = False
        for run, args in ((self._accept, ()), (self._relay, (True,)), (self._relay, (False,))):
            threading.Thread(target=run, args=args, name=f"link-{self.port}", daemon=True).start()

    def cut(self) -> None:
        """Drop every connection through the link and refuse new ones."""
        with self._lock:
            self._cut = True
            doomed, self._open = self._open, []
        for sock in doomed:
            _close(sock)

    def mend(self) -> None:
        with self._lock:
            self._cut = False

    def close(self) -> None:
        self._closed = True
        self.cut()
        for sock in (self._listener, self._datagrams, self._upstream):
            _close(sock)

    def _relay(self, outward: bool) -> None:
        """Carry datagrams one way: from the dialling node to the target (``outward``), or
        the target's answers back to the last node that sent one."""
        source, dest = (
            (self._datagrams, self._upstream) if outward else (self._upstream, self._datagrams)
        )
        while not self._closed:
            try:
                data, sender = source.recvfrom(_CHUNK)
                if outward:
                    self._client = sender
                to = ("127.0.0.1", self.target) if outward else self._client
                if not self._cut and to is not None:
                    dest.sendto(data, to)
            except OSError:
                if self._closed:
                    return

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                refused = self._cut
            if refused:
                _close(client)
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target), timeout=5)
            except OSError:
                _close(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open += [client, upstream]
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(src, dst), daemon=True).start()


def _tcp_and_udp_on_one_port() -> tuple[socket.socket, socket.socket]:
    """A TCP listener and a UDP socket on the same free loopback port (an enode names one)."""
    for _ in range(50):
        listener = socket.create_server(("127.0.0.1", 0))
        datagrams = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            datagrams.bind(("127.0.0.1", listener.getsockname()[1]))
            return listener, datagrams
        except OSError:
            _close(listener)
            _close(datagrams)
    raise RuntimeError("no port free for both TCP and UDP")


def _pump(src: socket.socket, dst: socket.socket) -> None:
    """Copy bytes one way until either side closes; then close both."""
    try:
        while data := src.recv(_CHUNK):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        _close(src)
        _close(dst)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
