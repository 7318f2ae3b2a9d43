"""The cockpit's live event stream (``linli live``, linli/cockpit/live.py), in process: a real
asyncio server on a free port, real sockets, sessions from the test database."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from linli.cases.choices import CaseSource
from linli.cases.models import Case, Category
from linli.cases.services import case_regrade
from linli.cockpit import live, selectors
from linli.cockpit.tests.conftest import Emergency
from linli.cockpit.tests.test_drill import smoke_alarm

POLL = 0.1


def session_cookie(user: object) -> str:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def level_one_case(em: Emergency, *, grid_id: int, number: str = "T-LIVE-1", level: int = 1) -> Case:
    category, _ = Category.objects.get_or_create(code="9901", defaults={"name": "火灾隐患", "domain": "community"})
    return Case.objects.create(number=number, source=CaseSource.PATROL, category=category, level=level,
                               description="三楼走廊堆放杂物", grid_id=grid_id, lon=120.203, lat=30.203)


@contextmanager
def running_live(max_streams: int = 50) -> Iterator[tuple[live.LiveServer, int]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = live.LiveServer(max_streams=max_streams, poll_seconds=POLL)
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    async def main() -> None:
        started = asyncio.Event()
        task = asyncio.create_task(server.run("127.0.0.1", port, ready=started))
        await started.wait()
        ready.set()
        await task

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        # the reader has learnt the current marks before anything is raised
        deadline = time.monotonic() + 10
        while server.marks is None and time.monotonic() < deadline:
            time.sleep(0.02)
        yield server, port
    finally:
        loop.call_soon_threadsafe(server.stopping.set)
        thread.join(15)
        loop.close()


@dataclass
class Opened:
    status: int
    headers: dict[str, str]
    sock: socket.socket
    rest: bytes

    def events(self, seconds: float) -> list[tuple[str, dict[str, object]]]:
        """The events that arrive within ``seconds`` (comments and retry lines left out)."""
        self.sock.settimeout(0.1)
        data = self.rest
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                continue
            if not chunk:
                break
            data += chunk
        self.rest = b""
        found = []
        for block in data.decode().split("\n\n"):
            fields = dict(line.split(": ", 1) for line in block.splitlines() if line and not line.startswith(":")
                          and ": " in line)
            if "event" in fields:
                found.append((fields["event"], json.loads(fields["data"])))
        return found


def open_stream(port: int, *, cookie: str = "", origin: str = "", path: str = live.LIVE_PATH) -> Opened:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Accept: text/event-stream"]
    if cookie:
        lines.append(f"Cookie: {cookie}")
    if origin:
        lines.append(f"Origin: {origin}")
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (h.split(":", 1) for h in header_lines)}
    return Opened(int(status_line.split()[1]), headers, sock, rest)


@pytest.mark.django_db(transaction=True)
def test_a_new_alarm_and_level_one_case_reach_the_open_stream_of_its_area_only(em: Emergency) -> None:
    with running_live() as (_server, port):
        # given the street operator's cockpit and another street's operator's, both streams open
        ours = open_stream(port, cookie=session_cookie(em.users.street))
        theirs = open_stream(port, cookie=session_cookie(em.other_operator))
        assert (ours.status, theirs.status) == (200, 200)
        assert ours.headers["content-type"].startswith("text/event-stream")
        assert ours.headers["x-accel-buffering"] == "no"
        # when a smoke alarm and a level-1 case are committed in our grid a1, and a level-3 case
        started = time.monotonic()
        alarm = smoke_alarm(em, building_id=em.b12.pk, grid_id=em.tree.grid_a1.pk)
        case = level_one_case(em, grid_id=em.tree.grid_a1.pk)
        level_one_case(em, grid_id=em.tree.grid_a1.pk, number="T-LIVE-3", level=3)
        received = ours.events(1.5)
        took = time.monotonic() - started
        # then our stream carries both within the goal's 2 s, labelled, without the summary
        kinds = sorted((kind, data["id"]) for kind, data in received)
        assert kinds == [("alarm", alarm.pk), ("case", case.pk)], received  # not the level-3 case
        assert took < 2.0
        alarm_data = next(data for kind, data in received if kind == "alarm")
        assert alarm_data["what"] == "烟雾报警"
        assert alarm_data["grid"] == "近江社区第1网格"
        assert (alarm_data["lon"], alarm_data["lat"]) == (em.b12.lon, em.b12.lat)
        assert "厨房烟雾" not in json.dumps(received, ensure_ascii=False)  # the summary may name a room
        assert "三楼走廊" not in json.dumps(received, ensure_ascii=False)  # nor the case's description
        # and the other street's operator receives nothing of ours
        assert theirs.events(0.5) == []
        # and nothing is announced twice
        assert ours.events(0.5) == []
        ours.sock.close()
        theirs.sock.close()


@pytest.mark.django_db(transaction=True)
def test_a_case_raised_to_level_one_reaches_the_open_stream_once(em: Emergency) -> None:
    # given a level-3 case in our grid a1, older than the stream
    case = level_one_case(em, grid_id=em.tree.grid_a1.pk, number="T-LIVE-R", level=3)
    with running_live() as (_server, port):
        ours = open_stream(port, cookie=session_cookie(em.users.street))
        theirs = open_stream(port, cookie=session_cookie(em.other_operator))
        assert ours.events(0.3) == []
        # when the street operator raises it to level 1, then lowers another raise to level 2
        started = time.monotonic()
        case_regrade(actor=em.users.street, case=case, level=1, reason="楼道起火,升为特急")
        received = ours.events(1.5)
        # then our stream announces it as a level-1 case within the goal's 2 s, once
        assert [(kind, data["id"], data["level"]) for kind, data in received] == [("case", case.pk, 1)], received
        assert time.monotonic() - started < 2.0
        assert theirs.events(0.3) == []
        case_regrade(actor=em.users.street, case=case, level=2, reason="已控制")
        assert ours.events(0.8) == []  # lowered: nothing to announce
        ours.sock.close()
        theirs.sock.close()


@pytest.mark.django_db(transaction=True)
def test_the_stream_refuses_the_unauthenticated_the_wrong_role_and_foreign_origins(em: Emergency) -> None:
    with running_live() as (server, port):
        # no cookie, a made-up session, a grid worker (the cockpit is for operators), an auditor
        assert open_stream(port).status == 401
        assert open_stream(port, cookie=f"{settings.SESSION_COOKIE_NAME}=not-a-session").status == 401
        assert open_stream(port, cookie=session_cookie(em.users.grid_worker_a1)).status == 401
        assert open_stream(port, cookie=session_cookie(em.users.auditor)).status == 401
        # a page of another site may not read our operator's stream
        cookie = session_cookie(em.users.street)
        assert open_stream(port, cookie=cookie, origin="http://evil.example").status == 403
        # the cockpit page on this host's other port may (linli demo: page :8000, stream :8010)
        page = open_stream(port, cookie=cookie, origin="http://127.0.0.1:8000")
        assert page.status == 200
        assert page.headers["access-control-allow-origin"] == "http://127.0.0.1:8000"
        assert page.headers["access-control-allow-credentials"] == "true"
        assert open_stream(port, path="/live/other/").status == 404
        assert open_stream(port, path=live.HEALTH_PATH).status == 200
        page.sock.close()
        deadline = time.monotonic() + 5
        while server.streams and time.monotonic() < deadline:
            time.sleep(0.05)
        # a closed screen leaves no stream behind
        assert not server.streams


@pytest.mark.django_db(transaction=True)
def test_a_logged_out_session_ends_its_stream_at_the_next_check(em: Emergency) -> None:
    client = Client()
    client.force_login(em.users.street)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    with running_live() as (server, port):
        stream = open_stream(port, cookie=cookie)
        assert stream.status == 200
        # when the operator logs out and the stream's periodic check runs
        client.post(reverse("web:logout"))
        assert server.loop is not None
        asyncio.run_coroutine_threadsafe(server.recheck(), server.loop).result(10)
        # then the server has closed the stream
        stream.sock.settimeout(5)
        while stream.sock.recv(4096):
            pass
        assert not server.streams


def test_selectors_announce_what_comes_after_the_marks_with_the_lists_scope(em: Emergency, db: None) -> None:
    alarm_mark, case_mark, event_mark = selectors.live_marks()
    alarm = smoke_alarm(em, building_id=em.b12.pk, grid_id=em.tree.grid_a1.pk)
    case = level_one_case(em, grid_id=em.tree.grid_a1.pk)
    events = selectors.live_events_after(alarm_after=alarm_mark, case_after=case_mark, event_after=event_mark)
    assert [(e.kind, e.id) for e in events] == [("alarm", alarm.pk), ("case", case.pk)]
    street = selectors.live_viewer(user=em.users.street)
    other = selectors.live_viewer(user=em.other_operator)
    assert street is not None
    assert other is not None
    assert all(selectors.live_event_visible(viewer=street, event=e) for e in events)
    assert not any(selectors.live_event_visible(viewer=other, event=e) for e in events)
    assert selectors.live_viewer(user=em.users.grid_worker_a1) is None
    assert selectors.live_events_after(alarm_after=alarm.pk, case_after=case.pk, event_after=event_mark) == []
    assert timezone.now() >= events[0].at


def test_the_cockpit_page_names_its_stream_and_allows_it_in_its_policy(em: Emergency, db: None,
                                                                        settings: object) -> None:
    client = Client()
    client.force_login(em.users.street)
    response = client.get(reverse("cockpit:cockpit"), HTTP_HOST="127.0.0.1:8000")
    page = response.content.decode()
    port = settings.LINLI_LIVE_PORT  # type: ignore[attr-defined]
    assert f'data-live-url="//127.0.0.1:{port}/live/cockpit/"' in page
    assert f"connect-src 'self' 127.0.0.1:{port};" in response["Content-Security-Policy"]
    # behind nginx (HTTPS, or LINLI_LIVE_URL) the stream is this origin's /live/cockpit/
    settings.LINLI_LIVE_URL = "/live/cockpit/"  # type: ignore[attr-defined]
    response = client.get(reverse("cockpit:cockpit"), HTTP_HOST="127.0.0.1:8000")
    assert 'data-live-url="/live/cockpit/"' in response.content.decode()
    assert "connect-src 'self';" in response["Content-Security-Policy"]
    # a site without linli live: no stream named, the card polls
    settings.LINLI_LIVE_URL = "off"  # type: ignore[attr-defined]
    response = client.get(reverse("cockpit:cockpit"), HTTP_HOST="127.0.0.1:8000")
    assert 'data-live-url=""' in response.content.decode()
