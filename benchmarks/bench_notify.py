"""Notifications (issue 18): broadcast enqueue, relay throughput, unread count — each
against a naive one-row-at-a-time ORM loop in the same run.

    .venv/bin/python -m benchmarks.bench_notify                      # SQLite in a temp folder
    LINLI_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/linli_bench_notify \\
        .venv/bin/python -m benchmarks.bench_notify                  # createdb linli_bench_notify first

Goals: a broadcast to 10,000 recipients enqueued in ≤ 1 s; the relay ≥ 1,000 deliveries/s
to the local fake gateway (Tencent SendSms shape, its own process); the unread count of a
user with 100,000 notifications ≤ 5 ms p99.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.harness import Result, best_of, percentile, report, time_calls

PROJECT_DIR = Path(__file__).resolve().parent.parent
UNUSABLE = "!bench"  # an unusable password hash: nobody signs in as these users


def _setup() -> None:
    os.environ.setdefault("LINLI_DATA_DIR", str(Path(tempfile.gettempdir()) / "linli-bench-notify"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def _users(n: int) -> list[int]:
    """``n`` staff users reachable by SMS (created once)."""
    from linli.accounts.choices import Role
    from linli.accounts.models import User
    from linli.core import pii
    from linli.notify.models import PII_ADDRESS, ContactAddress

    existing = list(User.objects.filter(username__startswith="bench-notify-").order_by("pk")
                    .values_list("pk", flat=True))
    if len(existing) >= n:
        return existing[:n]
    User.objects.filter(username__startswith="bench-notify-").delete()
    users = User.objects.bulk_create([User(username=f"bench-notify-{i:05d}", role=Role.GRID_WORKER,
                                           password=UNUSABLE)
                                      for i in range(n)], batch_size=2000)
    phones = [f"139{i:08d}" for i in range(n)]
    sealed = pii.encrypt_many(phones, field=PII_ADDRESS)
    ContactAddress.objects.bulk_create([
        ContactAddress(user=u, channel="sms", address_enc=enc, address_masked=pii.mask_phone(p))
        for u, p, enc in zip(users, phones, sealed, strict=True)], batch_size=2000)
    return [u.pk for u in users]


def _naive_enqueue(user_ids: list[int], *, key: str) -> None:
    """What one would write first: per recipient, look up the address, create two rows."""
    from django.db import transaction
    from django.utils import timezone

    from linli.notify import workflow
    from linli.notify.models import ContactAddress, Delivery, Notification

    with transaction.atomic():
        for user_id in user_ids:
            n = Notification.objects.create(recipient_id=user_id, event_type="broadcast.emergency",
                                            level="emergency", title="紧急通知", body="【近江社区】燃气泄漏,请撤离",
                                            dedup_key=key)
            for contact in ContactAddress.objects.filter(user_id=user_id):
                Delivery.objects.create(
                    notification=n, channel=contact.channel, address_enc=contact.address_enc,
                    address_masked=contact.address_masked, next_attempt_at=timezone.now(),
                    idempotency_key=workflow.idempotency_key(recipient_id=user_id, dedup_key=key,
                                                             channel=contact.channel))


def bench_broadcast(n: int, naive_n: int) -> Result:
    from linli.notify.models import Delivery, Notification
    from linli.notify.services import notification_enqueue

    users = _users(n)
    runs = iter(range(100))

    def broadcast() -> None:
        notification_enqueue(recipient_ids=users, event_type="broadcast.emergency",
                             variables={"area": "近江社区", "message": "燃气泄漏,请立即撤离"},
                             dedup_key=f"bench-broadcast-{next(runs)}-{time.time_ns()}")

    fast = best_of(broadcast, repeat=3)
    slow = best_of(lambda: _naive_enqueue(users[:naive_n], key=f"bench-naive-{time.time_ns()}"), repeat=1)
    Delivery.objects.all().delete()
    Notification.objects.all().delete()
    return Result(bench="notify: broadcast enqueued", size=n, unit="recipients/s", linli=n / fast,
                  baseline=naive_n / slow, baseline_name=f"ORM row by row ({naive_n:,})",
                  goal=f"{n:,} in ≤ 1 s", goal_met=fast <= 1.0,
                  notes=f"{fast:.3f} s for {n:,}: 1 notification + 1 SMS delivery each",
                  extra={"seconds": fast})


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bench_relay(n: int, naive_n: int, threads: int, chunk: int = 64, *, analyze: bool = True) -> Result:
    from django.db import transaction
    from django.utils import timezone

    from linli.notify.channels.registry import channel_setups
    from linli.notify.fake_gateway import KEY_ID, KEY_SECRET
    from linli.notify.models import Delivery, Notification
    from linli.notify.relay import Relay, _messages
    from linli.notify.services import notification_enqueue

    port = _free_port()
    gateway = subprocess.Popen([sys.executable, "-m", "linli.notify.fake_gateway", "--port", str(port)],  # noqa: S603
                               cwd=PROJECT_DIR, stdout=subprocess.DEVNULL)
    try:
        time.sleep(2.0)
        conf = {"LINLI_NOTIFY_SMS": "tencent", "LINLI_NOTIFY_SMS_ENDPOINT": f"http://127.0.0.1:{port}/tencent",
                "LINLI_NOTIFY_SMS_KEY_ID": KEY_ID, "LINLI_NOTIFY_SMS_KEY_SECRET": KEY_SECRET,
                "LINLI_NOTIFY_SMS_SIGN_NAME": "邻里", "LINLI_NOTIFY_SMS_APP_ID": "1400000000",
                "LINLI_NOTIFY_SMS_RATE": "1000000", "LINLI_NOTIFY_WECHAT": "off", "LINLI_NOTIFY_WEBPUSH": "off",
                "LINLI_NOTIFY_EMAIL": "off"}
        setups = channel_setups(conf)
        users = _users(n)
        notification_enqueue(recipient_ids=users, event_type="case.dispatched", variables={"number": "AJ-1"},
                             dedup_key=f"bench-relay-{time.time_ns()}")
        from django.db import connection

        if analyze:  # fresh statistics, as autovacuum keeps them on a live table
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        relay = Relay(setups, batch=1000, chunk=chunk, threads=threads)
        started = time.perf_counter()
        sent = 0
        while sent < n:
            report_ = relay.run_once()
            sent += report_.sent
            if report_.claimed == 0:
                break
        fast = time.perf_counter() - started
        relay.pool.shutdown()
        # naive: one row at a time — lock it, send it, save it
        Delivery.objects.all().delete()
        Notification.objects.all().delete()
        notification_enqueue(recipient_ids=users[:naive_n], event_type="case.dispatched",
                             variables={"number": "AJ-1"}, dedup_key=f"bench-relay-naive-{time.time_ns()}")
        adapter = setups["sms"].adapter
        started = time.perf_counter()
        for pk in list(Delivery.objects.filter(state="pending").values_list("pk", flat=True)):
            with transaction.atomic():
                d = Delivery.objects.select_for_update().get(pk=pk)
                (_, message), = _messages([d.pk])
                result = adapter.send(message)
                d.state = "sent" if result.outcome == "sent" else "failed"
                d.attempts += 1
                d.sent_at = timezone.now()
                d.save()
        slow = time.perf_counter() - started
        Delivery.objects.all().delete()
        Notification.objects.all().delete()
    finally:
        gateway.terminate()
        gateway.wait()
    rate = sent / fast
    return Result(bench="notify: relay to fake gateway", size=sent, unit="deliveries/s", linli=rate,
                  baseline=naive_n / slow, baseline_name=f"row by row ({naive_n:,})",
                  goal="≥ 1,000/s", goal_met=rate >= 1000,
                  notes=f"Tencent SendSms shape (TC3 signature), {threads} sender threads, chunk {chunk}, "
                        f"fake gateway in its own process{'' if analyze else ', no ANALYZE before'}")


def bench_unread(total: int, unread: int, repeat: int) -> list[Result]:
    from django.db import transaction
    from django.utils import timezone

    from linli.accounts.models import User
    from linli.notify.models import Notification
    from linli.notify.selectors import unread_count
    from linli.notify.services import unread_counters_rebuild

    user, _ = User.objects.get_or_create(username="bench-notify-inbox", defaults={"password": UNUSABLE})
    others = _users(50)
    Notification.objects.all().delete()
    now = timezone.now()
    with transaction.atomic():
        for start in range(0, total, 10_000):
            Notification.objects.bulk_create([
                Notification(recipient=user, event_type="case.dispatched", title="事件派遣", body="事件AJ-1已派遣给您",
                             dedup_key=f"u{i}", read_at=None if i >= total - unread else now)
                for i in range(start, min(start + 10_000, total))], batch_size=5000)
        # other people's rows around it, as in a real table
        Notification.objects.bulk_create([
            Notification(recipient_id=others[i % len(others)], event_type="case.dispatched", title="t", body="b",
                         dedup_key=f"o{i}") for i in range(total)], batch_size=5000)
    from django.db import connection

    unread_counters_rebuild()  # the rows were written around the services, which keep the counter
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    assert unread_count(user_id=user.pk) == unread
    samples = time_calls(lambda: unread_count(user_id=user.pk), repeat=repeat)

    def naive() -> int:
        return sum(1 for n in Notification.objects.filter(recipient=user).only("read_at").iterator() if n.read_at is None)

    naive_samples = time_calls(naive, repeat=5)
    results = [Result(bench="notify: unread count", size=total, unit="ms p99", linli=percentile(samples, 99),
                      baseline=percentile(naive_samples, 99), baseline_name="rows counted in Python",
                      higher_is_better=False, goal="≤ 5 ms p99", goal_met=percentile(samples, 99) <= 5,
                      notes=f"{unread:,} unread of {total:,} (the per-user counter row)")]
    # the worst case: every one of them unread
    Notification.objects.filter(recipient=user).update(read_at=None)
    unread_counters_rebuild(user_ids=[user.pk])
    assert unread_count(user_id=user.pk) == total
    worst = time_calls(lambda: unread_count(user_id=user.pk), repeat=max(repeat // 5, 20))
    results.append(Result(bench="notify: unread count, all unread", size=total, unit="ms p99",
                          linli=percentile(worst, 99), baseline=None, higher_is_better=False, goal="≤ 5 ms p99",
                          goal_met=percentile(worst, 99) <= 5, notes=f"all {total:,} unread (worst case)"))
    Notification.objects.all().delete()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--naive", type=int, default=1_000, help="rows for the one-at-a-time baselines")
    parser.add_argument("--relay", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--chunk", type=int, default=64,
                        help="deliveries stamped, sent and recorded together (the daemon's default is 32)")
    parser.add_argument("--no-analyze", action="store_true",
                        help="relay straight after the broadcast, no ANALYZE (the planner's view of a fresh table)")
    parser.add_argument("--inbox", type=int, default=100_000)
    parser.add_argument("--unread", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=1_000)
    parser.add_argument("--only", choices=["broadcast", "relay", "unread"], default=None)
    args = parser.parse_args(argv)
    _setup()
    from django.db import connection

    results: list[Any] = []
    if args.only in (None, "broadcast"):
        results.append(bench_broadcast(args.recipients, args.naive))
    if args.only in (None, "relay"):
        results.append(bench_relay(args.relay, args.naive, args.threads, args.chunk, analyze=not args.no_analyze))
    if args.only in (None, "unread"):
        results += bench_unread(args.inbox, args.unread, args.repeat)
    report(results, name=f"notify_{connection.vendor}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
