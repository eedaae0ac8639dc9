"""TcpProxy: a loopback TCP proxy in front of one real server, which can turn into a blackhole.

A dependency that stops answering is not the same fault as one that is stopped: a stopped
server refuses connections at once, a blackholed one accepts nothing back and every client
waits on its own timeouts. The proxy forwards bytes both ways until :meth:`blackhole`; from
then on it moves nothing in either direction and closes nothing (new connections are accepted
and then left silent, as if the replies were dropped), until :meth:`restore` lets everything
still open flow again. :meth:`cut` closes every connection at once (a crash seen from the
client). :meth:`hang_up` cuts them too, then closes every new connection the moment it arrives,
cleanly and before a byte is said (a server that is stopping or starting, a load balancer with
no backend), until :meth:`restore`. A reset on one side of a connection is passed on to the
other. Only this proxy's own port is affected: nothing else on the machine notices, and
everything stops with the proxy (daemon threads of this process), so nothing outlives it.

Connections are accepted by a thread of their own, blocking, so a hang-up is as prompt as a
real server's; the bytes are moved by an event loop in another thread.

::

    with TcpProxy(redis.port) as proxy:
        url = proxy.url(redis.url)     # redis://127.0.0.1:<proxy port>/0
        proxy.blackhole(); ...; proxy.restore()
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit, urlunsplit

from euglena_devkit.services.procs import HOST, free_port

_CHUNK = 64 * 1024


class TcpProxy:
    def __init__(self, upstream_port: int, *, upstream_host: str = HOST) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = free_port()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None
        self._flowing: asyncio.Event | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._hanging_up = False
        self.accepted = 0
        self.hung_up = 0  # connections closed on arrival by hang_up()

    # -- control (from any thread) ------------------------------------------------------

    def start(self) -> Self:
        if self._thread is not None:
            return self
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        def serve() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self._listen())
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=serve, name=f"tcp-proxy-{self.port}", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError(f"the proxy on port {self.port} did not start")
        self._listener = socket.create_server((HOST, self.port), backlog=128)
        self._acceptor = threading.Thread(
            target=self._accept_forever, name=f"tcp-proxy-{self.port}-accept", daemon=True
        )
        self._acceptor.start()
        return self

    def url(self, url: str) -> str:
        """``url`` (of the upstream server) with this proxy's port instead of the server's."""
        parts = urlsplit(url)
        netloc = parts.netloc.rsplit("@", 1)
        host = f"{HOST}:{self.port}"
        return urlunsplit(parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) > 1 else host))

    @property
    def blackholed(self) -> bool:
        return self._flowing is not None and not self._flowing.is_set()

    @property
    def connections(self) -> int:
        return len(self._writers) // 2

    def blackhole(self) -> None:
        """Stop moving bytes either way; close nothing."""
        self._in_loop(self._set_flowing, False)

    def restore(self) -> None:
        """Forward again, for every connection still open and every new one."""
        self._in_loop(self._set_flowing, True)

    def cut(self) -> None:
        """Close every open connection at once (clients see a reset)."""
        self._in_loop(self._abort_all)

    def hang_up(self) -> None:
        """Cut every open connection; close every new one on arrival (a FIN, nothing said)."""
        self._in_loop(self._set_hanging_up)

    def close(self) -> None:
        if self._loop is None or self._thread is None:
            return
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
            self._listener.close()
            if self._acceptor is not None:
                self._acceptor.join(10)
            self._listener = self._acceptor = None
        with contextlib.suppress(RuntimeError):
            self._in_loop(self._shutdown)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
        self._loop = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- inside the proxy's loop --------------------------------------------------------

    def _in_loop(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn`` (a function or a coroutine function) in the proxy's loop and wait."""
        if self._loop is None:
            raise RuntimeError("the proxy is not running")

        async def call() -> None:
            result = fn(*args)
            if isinstance(result, Awaitable):
                await result

        asyncio.run_coroutine_threadsafe(call(), self._loop).result(10)

    async def _listen(self) -> None:
        self._flowing = asyncio.Event()
        self._flowing.set()

    def _set_flowing(self, flowing: bool) -> None:
        assert self._flowing is not None
        self._hanging_up = False
        if flowing:
            self._flowing.set()
        else:
            self._flowing.clear()

    def _set_hanging_up(self) -> None:
        self._set_flowing(True)
        self._hanging_up = True
        self._abort_all()

    def _abort_all(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _shutdown(self) -> None:
        self._abort_all()
        tasks = [t for t in self._tasks if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _accept_forever(self) -> None:
        """(The acceptor thread.) Take each connection; hang up on it or hand it to the loop."""
        assert self._listener is not None and self._loop is not None
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return  # the listener was shut down
            self.accepted += 1
            if self._hanging_up:
                self.hung_up += 1
                conn.close()
                continue
            conn.setblocking(False)
            try:
                asyncio.run_coroutine_threadsafe(self._serve(conn), self._loop)
            except RuntimeError:  # the loop is closing
                conn.close()
                return

    async def _serve(self, conn: socket.socket) -> None:
        try:
            reader, writer = await asyncio.open_connection(sock=conn)
        except OSError:
            conn.close()
            return
        await self._accept(reader, writer)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert self._flowing is not None
        self._writers.add(writer)
        me = asyncio.current_task()
        if me is not None:
            self._tasks.add(me)
        try:
            await self._flowing.wait()  # a blackholed server never completes the connection
            if self._hanging_up:
                raise ConnectionAbortedError("hung up on")
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except (OSError, asyncio.CancelledError):
            self._writers.discard(writer)
            writer.transport.abort()
            return
        finally:
            if me is not None:
                self._tasks.discard(me)
        self._writers.add(up_writer)
        pumps = [
            asyncio.create_task(self._pump(reader, up_writer)),
            asyncio.create_task(self._pump(up_reader, writer)),
        ]
        self._tasks.update(pumps)
        try:
            await asyncio.gather(*pumps, return_exceptions=True)
        finally:
            self._tasks.difference_update(pumps)
            for w in (writer, up_writer):
                self._writers.discard(w)
                w.transport.abort()

    async def _pump(self, source: asyncio.StreamReader, target: asyncio.StreamWriter) -> None:
        """Bytes one way; an end (EOF) is passed on as an end, a reset as a reset."""
        assert self._flowing is not None
        try:
            while True:
                await self._flowing.wait()
                data = await source.read(_CHUNK)
                if not data:
                    break
                await self._flowing.wait()  # a chunk read just before the blackhole is held too
                target.write(data)
                await target.drain()
        except OSError:
            target.transport.abort()  # else the other side would wait for bytes forever
            return
        with contextlib.suppress(OSError):
            target.write_eof()
