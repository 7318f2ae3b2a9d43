"""Appointments: slots from opening hours and the holiday calendar, capacity under
concurrency, no double booking, change/cancel, check-in queue numbers, scoping."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from django.db import connection, connections
from django.utils import timezone

from conftest import Tree, make_user
from linli.accounts.choices import Role
from linli.catalogue.choices import AppointmentStatus, CatalogueErrorCode
from linli.catalogue.models import Appointment, ServiceWindow
from linli.catalogue.selectors import daily_queue, hall_statistics_for_user, window_slots
from linli.catalogue.services import (
    appointment_book,
    appointment_cancel,
    appointment_change,
    appointment_check_in,
    appointment_serve,
    window_create,
)
from linli.catalogue.tests.conftest import SEED, CatalogueUsers, PersonFactory
from linli.core.calendar import SHANGHAI, is_working_day
from linli.core.errors import ApplicationError, NotFound, ValidationFailed

HOURS = {str(d): [["08:30", "11:30"], ["13:30", "17:00"]] for d in range(1, 6)}


def next_working_day(after: int = 3) -> date:
    day = timezone.localdate() + timedelta(days=after)
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def at(day: date, hh: int, mm: int) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=SHANGHAI)


@pytest.fixture
def window(tree: Tree) -> ServiceWindow:
    return window_create(actor=SEED, code="W1", name="近江社区综合窗口", community=tree.community_a,
                         opening_hours=HOURS, slot_minutes=30, capacity_per_slot=2)


def test_slots_follow_opening_hours_and_skip_holidays(window: ServiceWindow) -> None:
    day = next_working_day()
    slots = window_slots(window=window, day=day)
    assert slots[0].start == at(day, 8, 30)
    assert slots[-1].start == at(day, 16, 30)
    assert len(slots) == 6 + 7
    # National Day 2026 is a holiday even though 1 October is a Thursday
    assert window_slots(window=window, day=date(2026, 10, 1)) == []


def test_booking_takes_a_seat_and_the_slot_fills_up(window: ServiceWindow, cat_users: CatalogueUsers) -> None:
    day = next_working_day()
    slot = at(day, 9, 0)
    appointment_book(actor=cat_users.resident, window=window, slot_start=slot, name="甲", phone="13800000001")
    appointment_book(actor=cat_users.resident, window=window, slot_start=slot, name="乙", phone="13800000002")
    with pytest.raises(ApplicationError) as refused:
        appointment_book(actor=cat_users.resident, window=window, slot_start=slot, name="丙", phone="13800000003")
    assert refused.value.code == CatalogueErrorCode.SLOT_FULL
    assert [s.booked for s in window_slots(window=window, day=day) if s.start == slot] == [2]


def test_the_same_phone_cannot_hold_two_seats_in_one_slot(window: ServiceWindow, cat_users: CatalogueUsers) -> None:
    slot = at(next_working_day(), 9, 0)
    appointment_book(actor=cat_users.resident, window=window, slot_start=slot, name="甲", phone="13800000001")
    with pytest.raises(ApplicationError) as refused:
        appointment_book(actor=cat_users.resident, window=window, slot_start=slot, name="甲", phone="138 0000 0001")
    assert refused.value.code == CatalogueErrorCode.DOUBLE_BOOKING


def test_the_same_person_cannot_hold_two_bookings_in_one_slot(
    tree: Tree, window: ServiceWindow, cat_users: CatalogueUsers, make_person: PersonFactory,
) -> None:
    other = window_create(actor=SEED, code="W2", name="二号窗口", community=tree.community_a,
                          opening_hours=HOURS, capacity_per_slot=5)
    person = make_person()
    clerk = cat_users.base.community_a
    slot = at(next_working_day(), 9, 0)
    appointment_book(actor=clerk, window=window, slot_start=slot, person=person, name="王", phone="13800000001")
    with pytest.raises(ApplicationError) as refused:
        appointment_book(actor=clerk, window=other, slot_start=slot, person=person, name="王", phone="13800000009")
    assert refused.value.code == CatalogueErrorCode.DOUBLE_BOOKING


@pytest.mark.parametrize(("when", "reason"), [
    ("past", "已过去"), ("closed_hour", "不开放"), ("off_grid", "不开放"), ("weekend", "不开放"),
])
def test_slots_outside_opening_or_in_the_past_are_refused(
    window: ServiceWindow, cat_users: CatalogueUsers, when: str, reason: str,
) -> None:
    day = next_working_day()
    saturday = day + timedelta(days=(5 - day.weekday()) % 7)
    while is_working_day(saturday):  # a make-up Saturday: take the next
        saturday += timedelta(days=7)
    slot = {
        "past": timezone.now() - timedelta(days=1),
        "closed_hour": at(day, 12, 0),
        "off_grid": at(day, 9, 10),
        "weekend": at(saturday, 9, 0),
    }[when]
    with pytest.raises(ApplicationError) as refused:
        appointment_book(actor=cat_users.resident, window=window, slot_start=slot, name="甲", phone="13800000001")
    assert refused.value.code == CatalogueErrorCode.SLOT_UNAVAILABLE
    assert reason in refused.value.message


def test_bad_phone_names_the_field(window: ServiceWindow, cat_users: CatalogueUsers) -> None:
    with pytest.raises(ValidationFailed) as refused:
        appointment_book(actor=cat_users.resident, window=window, slot_start=at(next_working_day(), 9, 0),
                         name="甲", phone="abc")
    assert refused.value.field == "phone"


def test_cancelling_frees_the_seat_and_change_moves_the_booking(
    window: ServiceWindow, cat_users: CatalogueUsers,
) -> None:
    day = next_working_day()
    first = appointment_book(actor=cat_users.resident, window=window, slot_start=at(day, 9, 0), name="甲",
                             phone="13800000001")
    appointment_book(actor=cat_users.resident, window=window, slot_start=at(day, 9, 0), name="乙",
                     phone="13800000002")
    moved = appointment_change(actor=cat_users.resident, appointment=first, slot_start=at(day, 14, 0))
    first.refresh_from_db()
    assert first.status == AppointmentStatus.CANCELLED
    assert (moved.slot_start, moved.phone_masked) == (at(day, 14, 0), "138****0001")
    # the freed seat can be booked again
    again = appointment_book(actor=cat_users.resident, window=window, slot_start=at(day, 9, 0), name="丙",
                             phone="13800000003")
    assert again.seat == 1
    cancelled = appointment_cancel(actor=cat_users.resident, appointment=moved)
    assert cancelled.status == AppointmentStatus.CANCELLED


def test_another_resident_cannot_cancel_my_booking(window: ServiceWindow, cat_users: CatalogueUsers) -> None:
    mine = appointment_book(actor=cat_users.resident, window=window, slot_start=at(next_working_day(), 9, 0),
                            name="甲", phone="13800000001")
    with pytest.raises(NotFound):
        appointment_cancel(actor=cat_users.resident_other, appointment=mine)


def test_check_in_gives_queue_numbers_and_the_queue_is_for_the_windows_staff(
    window: ServiceWindow, cat_users: CatalogueUsers,
) -> None:
    today = timezone.localdate()
    # Bookings of today's slots are created directly: booking a past slot is refused.
    rows = [
        Appointment.objects.create(window=window, slot_start=at(today, 9, 0), seat=seat, name=n,
                                   phone_masked="138****0000")
        for seat, n in ((1, "甲"), (2, "乙"))
    ]
    clerk = cat_users.base.community_a
    second = appointment_check_in(actor=clerk, appointment=rows[1])
    first = appointment_check_in(actor=clerk, appointment=rows[0])
    assert (second.number, first.number) == ("A001", "A002")
    served = appointment_serve(actor=clerk, appointment=second)
    assert served.status == AppointmentStatus.DONE
    queue = daily_queue(user=clerk, window=window, day=today)
    assert [a.number for a in queue] == ["A001", "A002"]
    with pytest.raises(NotFound):
        daily_queue(user=cat_users.base.community_b, window=window, day=today)
    with pytest.raises(NotFound):
        appointment_check_in(actor=cat_users.base.community_b, appointment=rows[0])
    stats = hall_statistics_for_user(user=clerk, start=today, end=today)
    assert stats.served == 1
    assert stats.average_wait_minutes is not None


@pytest.mark.django_db(transaction=True)
def test_concurrent_bookings_of_the_last_seats_never_overbook(tree: Tree) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; the race needs PostgreSQL")
    # given a window with 3 seats per slot and 12 residents clicking at once
    window = window_create(actor=SEED, code="WC", name="并发窗口", community=tree.community_a,
                           opening_hours=HOURS, capacity_per_slot=3)
    slot = at(next_working_day(), 10, 0)
    resident = make_user("crowd", Role.RESIDENT)
    barrier = threading.Barrier(12)
    outcomes: list[str] = []
    lock = threading.Lock()

    def book(n: int) -> None:
        try:
            barrier.wait()
            appointment_book(actor=resident, window=window, slot_start=slot, name=f"居民{n}",
                             phone=f"1380000{n:04d}")
            result = "ok"
        except ApplicationError as refused:
            result = refused.code
        finally:
            connections.close_all()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=book, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # then exactly the capacity succeeds, the rest are told the slot is full
    assert sorted(outcomes) == ["ok"] * 3 + [CatalogueErrorCode.SLOT_FULL] * 9
    seats = sorted(Appointment.objects.filter(window=window, slot_start=slot).values_list("seat", flat=True))
    assert seats == [1, 2, 3]


def test_window_requires_valid_hours(tree: Tree, cat_users: CatalogueUsers) -> None:
    bad: dict[str, Any] = {"1": [["17:00", "08:30"]]}
    with pytest.raises(ValidationFailed) as refused:
        window_create(actor=SEED, code="WX", name="x", community=tree.community_a, opening_hours=bad)
    assert refused.value.field == "opening_hours"
