"""``linli live``: the cockpit's Server-Sent Events, from one small asyncio process (issue #21).

The web server runs WSGI with a bounded pool of threads, each holding a database connection
(linli/ops/server.py): an event stream held open there would take a thread for as long as a
wall screen is on, and twenty screens would stop the site. So the streams live in a process
of their own (ADR 0011), started beside the web server by ``linli demo`` / ``linli run``
(supervisor DAEMONS) or systemd (``linli-live.service``), behind nginx at ``/live/``:

- one coroutine per open stream, no thread: thousands of idle connections cost a few KB each;
- one reader: every ``LIVE_POLL_SECONDS`` (0.5 s) one thread reads the alarms and level-1
  cases committed since the last read (two primary-key range reads, whatever the number of
  screens) and the event loop writes each to the streams whose user may see it (the rules of
  the cockpit's own lists, :func:`linli.cockpit.selectors.live_event_visible`);
- who: the Django session cookie, checked like a page (``get_user``: session hash, active,
  an operator role as the cockpit requires, the idle limit); re-checked every
  ``RECHECK_SECONDS``, so a logout or a changed role ends the stream;
- slow screens never hold the others: a write is queued on the socket and a stream whose
  unsent data passes ``MAX_UNSENT_BYTES`` is closed (the browser reconnects);
- a comment line every ``PING_SECONDS`` keeps proxies from closing an idle stream and finds
  the dead ones.

The browser (cockpit.js) opens an ``EventSource``; while the stream is open the card's 2 s
poll pauses (one reconciling poll every 30 s), and any error brings the poll back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from importlib import import_module
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user
from django.db import Error as DatabaseError
from django.db import connection
from django.http import HttpRequest
from django.utils import timezone, translation

from linli.accounts.middleware import idle_expired, last_seen_of
from linli.cockpit import selectors
from linli.devices.choices import AlarmKind

logger = logging.getLogger("linli.live")

LIVE_PATH = "/live/cockpit/"
HEALTH_PATH = "/live/healthz"
LIVE_POLL_SECONDS = 0.5
PING_SECONDS = 15.0
RECHECK_SECONDS = 60.0
HEADER_TIMEOUT_SECONDS = 10.0
MAX_HEADER_BYTES = 16 * 1024
MAX_UNSENT_BYTES = 256 * 1024
# The browser waits this long before reconnecting a dropped stream.
RETRY_MS = 2000


@dataclass(eq=False)
class Stream:
    """One open event stream: its socket, its viewer, its language."""

    writer: asyncio.StreamWriter
    viewer: selectors.LiveViewer
    session_key: str
    language: str
    closed: asyncio.Event = field(default_factory=asyncio.Event)

    def send(self, data: bytes) -> None:
        if self.closed.is_set():
            return
        transport = self.writer.transport
        if transport.is_closing() or transport.get_write_buffer_size() > MAX_UNSENT_BYTES:
            self.close()
            return
        self.writer.write(data)

    def close(self) -> None:
        if not self.closed.is_set():
            self.closed.set()
            self.writer.close()


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]


class BadRequestError(Exception):
    pass


def parse_request(head: bytes) -> Request:
    """The request line and headers of an HTTP/1.x request (the stream has no body)."""
    try:
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ", 2)
    except ValueError as error:
        raise BadRequestError from error
    if not version.startswith("HTTP/1."):
        raise BadRequestError
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise BadRequestError
        headers[name.strip().lower()] = value.strip()
    return Request(method=method, path=urlsplit(target).path, headers=headers)


def cookies_of(request: Request) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    with contextlib.suppress(CookieError):
        jar.load(request.headers.get("cookie", ""))
    return {name: morsel.value for name, morsel in jar.items()}


def allowed_origin(request: Request) -> str | None:
    """The ``Origin`` to echo for a cross-port stream (``linli demo``: the page on :8000, the
    stream on :8010), when its host is the one this request was sent to; ``""`` for a request
    without ``Origin`` (same origin behind nginx); ``None`` for a foreign origin."""
    origin = request.headers.get("origin")
    if origin is None:
        return ""
    host = request.headers.get("x-forwarded-host") or request.headers.get("host", "")
    origin_host = urlsplit(origin).hostname
    asked_host = urlsplit(f"//{host}").hostname
    return origin if origin_host and origin_host == asked_host else None


def language_of(request: Request, cookies: dict[str, str]) -> str:
    fake = HttpRequest()
    fake.COOKIES = cookies
    fake.META["HTTP_ACCEPT_LANGUAGE"] = request.headers.get("accept-language", "")
    return translation.get_language_from_request(fake)


def viewer_for_session(session_key: str) -> selectors.LiveViewer | None:
    """The session's user as the cockpit page would see it, or ``None`` (runs in a thread)."""
    try:
        engine = import_module(settings.SESSION_ENGINE)
        fake = HttpRequest()
        fake.session = engine.SessionStore(session_key=session_key)
        user = get_user(fake)
        if not user.is_authenticated:
            return None
        if idle_expired(last_seen=last_seen_of(fake.session), role=getattr(user, "role", ""), path=LIVE_PATH,
                        now=time.time()):
            return None
        return selectors.live_viewer(user=user)
    except DatabaseError:
        connection.close()  # a fresh connection on the next call (database restarted)
        raise


def event_bytes(event: selectors.LiveEvent, language: str) -> bytes:
    with translation.override(language):
        what = str(dict(AlarmKind.choices).get(event.what, event.what)) if event.kind == "alarm" else event.what
    data = {"id": event.id, "level": event.level, "what": what, "grid": event.grid,
            "at": timezone.localtime(event.at).strftime("%m-%d %H:%M"), "iso": event.at.isoformat(),
            "lon": event.lon, "lat": event.lat}
    return f"event: {event.kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def _response(status: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in headers.items())]
    if body or not status.startswith("200"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class LiveServer:
    """The streams of one process and the reader that feeds them (see the module docstring)."""

    def __init__(self, *, max_streams: int, poll_seconds: float = LIVE_POLL_SECONDS) -> None:
        self.streams: set[Stream] = set()
        self.max_streams = max_streams
        self.poll_seconds = poll_seconds
        # One thread reads the new events; two check sessions (a burst of screens connecting
        # after a restart must not delay the events). Each thread holds one DB connection.
        self.reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="live-read")
        self.auth = ThreadPoolExecutor(max_workers=2, thread_name_prefix="live-auth")
        self.marks: tuple[int, int, int] | None = None
        self.seen: set[tuple[str, int]] = set()
        self.sent = 0
        self.stopping = asyncio.Event()
        self.loop: asyncio.AbstractEventLoop | None = None

    # --- reading and fan-out ----------------------------------------------------------------

    def _read(self) -> list[selectors.LiveEvent]:
        priming = self.marks is None
        try:
            if self.marks is None:
                self.marks = selectors.live_marks()
            alarm_mark, case_mark, event_mark = self.marks
            lookback = selectors.LIVE_LOOKBACK_IDS
            events = selectors.live_events_after(alarm_after=max(0, alarm_mark - lookback),
                                                 case_after=max(0, case_mark - lookback),
                                                 event_after=max(0, event_mark - lookback))
        except DatabaseError:
            connection.close()
            raise
        # The first read only learns what exists: nothing older than the process is announced.
        fresh = [] if priming else [e for e in events if e.key not in self.seen]
        marks = {"alarm": alarm_mark, "case": case_mark, "regrade": event_mark}
        for event in events:
            feed, feed_id = event.key
            marks[feed] = max(marks[feed], feed_id)
        self.marks = (marks["alarm"], marks["case"], marks["regrade"])
        self.seen = {e.key for e in events} | {
            key for key in self.seen if key[1] > marks[key[0]] - selectors.LIVE_LOOKBACK_IDS}
        return fresh

    def fan_out(self, events: list[selectors.LiveEvent]) -> None:
        encoded: dict[tuple[str, int, str], bytes] = {}
        for stream in list(self.streams):
            for event in events:
                if not selectors.live_event_visible(viewer=stream.viewer, event=event):
                    continue
                key = (event.kind, event.id, stream.language)
                if key not in encoded:
                    encoded[key] = event_bytes(event, stream.language)
                stream.send(encoded[key])
                self.sent += 1

    async def read_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            try:
                events = await loop.run_in_executor(self.reader, self._read)
            except DatabaseError:
                logger.exception("live: reading new events failed; retrying")
                events = []
            if events:
                self.fan_out(events)
            await asyncio.sleep(max(0.0, self.poll_seconds - (loop.time() - started)))

    async def ping_loop(self) -> None:
        while True:
            await asyncio.sleep(PING_SECONDS)
            for stream in list(self.streams):
                stream.send(b": ping\n\n")

    async def recheck_loop(self) -> None:
        while True:
            await asyncio.sleep(RECHECK_SECONDS)
            await self.recheck()

    async def recheck(self) -> None:
        """Sessions ended, users deactivated, roles or areas changed: the stream follows."""
        loop = asyncio.get_running_loop()
        by_session: dict[str, list[Stream]] = {}
        for stream in list(self.streams):
            by_session.setdefault(stream.session_key, []).append(stream)
        for key, streams in by_session.items():
            try:
                viewer = await loop.run_in_executor(self.auth, viewer_for_session, key)
            except DatabaseError:
                logger.exception("live: re-checking a session failed; keeping its streams")
                continue
            for stream in streams:
                if viewer is None:
                    stream.close()
                else:
                    stream.viewer = viewer

    # --- one connection ---------------------------------------------------------------------

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._handle(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            pass
        finally:
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEADER_TIMEOUT_SECONDS)
        try:
            request = parse_request(head)
        except BadRequestError:
            writer.write(_response("400 Bad Request", {"Connection": "close"}))
            return
        if request.method != "GET":
            writer.write(_response("405 Method Not Allowed", {"Allow": "GET", "Connection": "close"}))
            return
        if request.path == HEALTH_PATH:
            writer.write(_response("200 OK", {"Content-Type": "text/plain", "Connection": "close",
                                              "Content-Length": "3"}, b"ok\n"))
            return
        if request.path != LIVE_PATH:
            writer.write(_response("404 Not Found", {"Connection": "close"}))
            return
        origin = allowed_origin(request)
        if origin is None:
            writer.write(_response("403 Forbidden", {"Connection": "close"}))
            return
        cors = {"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Credentials": "true",
                "Vary": "Origin"} if origin else {}
        cookies = cookies_of(request)
        session_key = cookies.get(settings.SESSION_COOKIE_NAME, "")
        loop = asyncio.get_running_loop()
        viewer = await loop.run_in_executor(self.auth, viewer_for_session, session_key) if session_key else None
        if viewer is None:
            # The browser's EventSource gives up on a 4xx and the page keeps polling.
            writer.write(_response("401 Unauthorized", {**cors, "Connection": "close"}))
            return
        if len(self.streams) >= self.max_streams:
            writer.write(_response("503 Service Unavailable", {**cors, "Retry-After": "30", "Connection": "close"}))
            return
        stream = Stream(writer=writer, viewer=viewer, session_key=session_key,
                        language=language_of(request, cookies))
        writer.write(_response("200 OK", {
            **cors, "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-store",
            "X-Accel-Buffering": "no", "Connection": "close",
        }) + f"retry: {RETRY_MS}\n: open\n\n".encode())
        self.streams.add(stream)
        try:
            # The client sends nothing more; its end (EOF) or our close ends the stream.
            eof = asyncio.ensure_future(reader.read(1024))
            closed = asyncio.ensure_future(stream.closed.wait())
            while True:
                done, _pending = await asyncio.wait({eof, closed}, return_when=asyncio.FIRST_COMPLETED)
                if closed in done or (eof in done and not eof.result()):
                    break
                eof = asyncio.ensure_future(reader.read(1024))  # stray bytes: ignored
            for task in (eof, closed):
                task.cancel()
        finally:
            self.streams.discard(stream)
            stream.close()

    async def run(self, host: str, port: int, *, ready: asyncio.Event | None = None) -> None:
        self.loop = asyncio.get_running_loop()
        server = await asyncio.start_server(self.handle, host, port, limit=MAX_HEADER_BYTES, backlog=1024)
        tasks = [asyncio.create_task(c) for c in (self.read_loop(), self.ping_loop(), self.recheck_loop())]
        loop = self.loop
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # not the main thread
                loop.add_signal_handler(sig, self.stopping.set)
        logger.info("live: event streams on http://%s:%d%s", host, port, LIVE_PATH)
        if ready is not None:
            ready.set()
        try:
            await self.stopping.wait()
        finally:
            server.close()
            for stream in list(self.streams):
                stream.close()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            _close_pool(self.reader, 1)
            _close_pool(self.auth, 2)


def _close_pool(pool: ThreadPoolExecutor, threads: int) -> None:
    """Close each thread's database connection, then the pool (PostgreSQL counts open ones)."""
    barrier = threading.Barrier(threads)

    def close() -> None:
        connection.close()
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=2)  # one job per thread: each waits for the others

    for _ in range(threads):
        pool.submit(close)
    pool.shutdown(wait=True, cancel_futures=False)


def serve(*, host: str, port: int, max_streams: int) -> None:
    """Serve the streams until SIGINT/SIGTERM (``linli live``)."""
    asyncio.run(LiveServer(max_streams=max_streams).run(host, port))
