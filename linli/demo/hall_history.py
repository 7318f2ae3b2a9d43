"""A year of the community service halls for the demo street: applications and appointments.

Residents of each community apply for the items a street hall handles most (居住证签注,
流动人口居住登记, 高龄津贴, 失业登记, 医保参保 …) at the window, online or at the self-service
terminal. Instant items are decided by the item's real rule against the applicant's registry
facts (some are refused: a 78-year-old asking for 高龄津贴); promised items go through
pre-review, some are returned for correction and resubmitted, most are forwarded to the
department and decided within their promised days, a few late; the last weeks are still
open at every stage, and the real overdue sweep marks the late ones. Appointments fill the
windows' slots on working days, most served with a queue number and a wait, some missed or
cancelled, the next two weeks booked.

This module generates (pure, apart from the calendar); :mod:`linli.demo.hall_seed` reads the
inputs and writes the rows with :class:`linli.demo.bulk.BulkWriter`, reserving numbers and
queue counters so that the live services continue after them. Deterministic for a seed and
an end date (ciphertexts aside: AES-GCM draws its nonces).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock
from typing import Any, Final

from linli.catalogue.choices import (
    ApplicationAction,
    ApplicationStatus,
    AppointmentStatus,
    Channel,
    Decision,
    ItemKind,
    ItemLevel,
)
from linli.catalogue.rules import age_on, evaluate, facts_used
from linli.core.calendar import SHANGHAI, add_working_days, deadline_in_working_days, is_working_day
from linli.demo.case_texts import reporter_name

Progress = Callable[[str], None]

APPLICATIONS_PER_DAY: Final = 24  # across the street's halls, per working day
APPOINTMENTS_PER_WINDOW_DAY: Final = 2.0
BOOK_AHEAD_DAYS: Final = 14
RULE_LABEL: Final = "系统自动判定"
# How often residents ask for an item, relative to an ordinary one (1.0).
POPULARITY: Final[dict[str, float]] = {
    "GA002": 9, "GA003": 9, "GA004": 6, "GA001": 5, "MZ006": 6, "MZ009": 6, "RS001": 5, "RS002": 4,
    "RS003": 4, "YB001": 6, "YB002": 3, "WJ001": 4, "SQ001": 5, "MZ024": 4, "RS011": 3, "RS007": 4,
    "RS019": 5, "WJ009": 3, "WJ010": 3, "CG004": 3, "CG005": 3, "ZJ004": 3, "GA013": 2, "GA018": 4,
    "MZ001": 2, "MZ008": 2, "CL001": 2, "MZ018": 2, "WJ002": 2, "WJ008": 3, "WJ012": 2, "YB004": 3,
    "GA008": 3, "GA010": 3, "SQ002": 2, "SQ003": 2,
}
CHANNELS: Final = ((Channel.WINDOW, 0.62), (Channel.ONLINE, 0.30), (Channel.SELF_SERVICE, 0.08))
REJECT_REASONS: Final = ("经核查，不符合申请条件", "申请材料与实际情况不符", "已享受同类待遇，不能重复享受",
                         "申请人户籍或居住地不在本辖区")
MEANS_TESTED_REJECT: Final = "经入户调查和家庭经济状况核对，家庭人均收入或财产超过规定标准"
MATERIAL_ISSUES: Final = ("不清晰，请重新上传", "缺少本人签字", "已过有效期", "缺页", "与原件不一致")
# The departments' reviewers as a person reads them (district, street).
REVIEWERS: Final[dict[str, tuple[str, str]]] = {
    "民政": ("区民政局", "街道民政办"), "人社": ("区人力社保局", "街道人力社保站"), "医保": ("区医保局", "街道医保服务站"),
    "卫健": ("区卫健局", "社区卫生服务中心"), "公安": ("公安分局", "派出所户籍窗口"), "住建": ("区住建局", "街道城建办"),
    "退役军人": ("区退役军人事务局", "街道退役军人服务站"), "城管": ("区城管局", "街道城管中队"), "残联": ("区残联", "街道残联"),
    "司法": ("区司法局", "街道司法所"), "市场监管": ("区市场监管局", "市场监管所"), "教育": ("区教育局", "街道教育办"),
    "工会": ("区总工会", "街道总工会"), "妇联": ("区妇联", "街道妇联"), "红十字会": ("区红十字会", "街道红十字会"),
    "人武部": ("区人武部", "街道武装部"), "生态环境": ("生态环境分局", "生态环境分局"),
}


@dataclass(frozen=True)
class HallItem:
    """What the generator needs of an item and its current version."""

    version_id: int
    item_id: int
    code: str
    name: str
    department: str
    level: str
    kind: str
    time_limit_days: int
    promised_days: int
    rule: dict[str, Any] | None
    materials: tuple[str, ...]
    details: tuple[dict[str, Any], ...]
    form_keys: frozenset[str]


@dataclass(frozen=True)
class HallPerson:
    """A resident who may apply: registry id, name, masked ID, facts for the rules."""

    id: int
    name: str
    id_masked: str
    birth_date: date | None
    sex: str
    hukou: str
    tags: frozenset[str]


@dataclass(frozen=True)
class HallCommunity:
    """A community with its hall window, its clerks and its residents."""

    id: int
    name: str
    window_id: int | None
    opening_hours: dict[str, list[list[str]]]
    slot_minutes: int
    capacity: int
    clerks: tuple[tuple[int, str], ...]
    people: tuple[HallPerson, ...]


@dataclass
class HallReport:
    """What :func:`seed_hall_history` wrote and how long it took."""

    applications: int = 0
    events: int = 0
    appointments: int = 0
    overdue_marked: int = 0
    skipped: bool = False
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class HallBatch:
    applications: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)
    appointments: list[tuple[Any, ...]] = field(default_factory=list)
    numbers: dict[str, int] = field(default_factory=dict)


def _reviewer(item: HallItem) -> str:
    district, street = REVIEWERS.get(item.department, (f"区{item.department}部门", f"街道{item.department}"))
    return district if item.level == ItemLevel.DISTRICT else street


def _constraints(rule: dict[str, Any] | None) -> dict[str, Any]:
    """What an applicant must be for ``rule`` to pass: minimum and maximum age, hukou, tags."""
    out: dict[str, Any] = {}
    if not rule:
        return out
    for node in rule.get("all", [rule]):
        fact, op, value = node.get("fact"), node.get("op"), node.get("value")
        if fact == "person.age" and op == "gte":
            out["min_age"] = int(value)
        elif fact == "person.age" and op == "lt":
            out["max_age"] = int(value)
        elif fact == "person.hukou" and op == "eq":
            out["hukou"] = value
        elif fact == "person.tags" and op == "has_tag":
            out["tag"] = value
    return out


def _fits(person: HallPerson, need: dict[str, Any], on: date) -> bool:
    age = age_on(person.birth_date, on) if person.birth_date else 0
    return (age >= need.get("min_age", 18) and age < need.get("max_age", 200)
            and person.hukou == need.get("hukou", person.hukou) and need.get("tag", "") in {"", *person.tags})


class HallHistoryGenerator:
    """Deterministic application and appointment rows; pure apart from the calendar."""

    def __init__(self, *, items: Sequence[HallItem], communities: Sequence[HallCommunity], seed: int,
                 per_day: float = APPLICATIONS_PER_DAY,
                 bookings_per_window_day: float = APPOINTMENTS_PER_WINDOW_DAY) -> None:
        self.items = list(items)
        self.per_day = per_day
        self.bookings_per_window_day = bookings_per_window_day
        self.communities = [c for c in communities if c.people]
        self.seed = seed
        self.cum_weights = list(itertools.accumulate(POPULARITY.get(item.code, 0.6) for item in self.items))
        self.channels = [c for c, _w in CHANNELS]
        self.channel_weights = list(itertools.accumulate(w for _c, w in CHANNELS))
        self.needs = {item.code: _constraints(item.rule) for item in self.items}
        # Who an item is meant for, per community (ages as of the first use: close enough).
        self._eligible: dict[tuple[int, str], tuple[HallPerson, ...]] = {}

    def days(self, *, end: date, days: int) -> Iterator[date]:
        first = end - timedelta(days=days - 1)
        for offset in range(days):
            yield first + timedelta(days=offset)

    def applications(self, rng: random.Random, day: date, now: datetime, first_id: int, first_event: int,
                     held: dict[int, set[str]]) -> tuple[list[dict[str, Any]], list[tuple[Any, ...]]]:
        """The applications submitted on ``day`` (fewer at weekends: online only)."""
        working = is_working_day(day)
        count = round(self.per_day * (1.0 if working else 0.15) * rng.uniform(0.7, 1.3))
        rows: list[dict[str, Any]] = []
        events: list[tuple[Any, ...]] = []
        for _ in range(count):
            item = rng.choices(self.items, cum_weights=self.cum_weights)[0]
            community = rng.choice(self.communities)
            channel = rng.choices(self.channels, cum_weights=self.channel_weights)[0]
            if not working:
                channel = Channel.ONLINE
            submitted = self._moment(rng, day, channel)
            if submitted > now:
                continue
            app_id = first_id + len(rows)
            row, steps = self._application(rng, app_id, item, community, channel, submitted, now, held)
            rows.append(row)
            for step in steps:
                events.append((first_event + len(events), app_id, *step))
        return rows, events

    @staticmethod
    def _moment(rng: random.Random, day: date, channel: str) -> datetime:
        if channel == Channel.ONLINE:
            hour = rng.choices(range(24), weights=[1, 1, 1, 1, 1, 1, 2, 4, 6, 7, 7, 6, 5, 6, 6, 6, 6, 6, 5, 7, 8, 7, 4, 2])[0]
        else:
            hour = rng.choice((8, 9, 9, 10, 10, 11, 13, 14, 14, 15, 15, 16))
        minute = rng.randrange(30, 60) if hour in (8, 13) else rng.randrange(60)
        return datetime(day.year, day.month, day.day, hour, minute, rng.randrange(60), tzinfo=SHANGHAI)

    def _applicant(self, rng: random.Random, item: HallItem, community: HallCommunity, on: date) -> HallPerson:
        """Mostly someone the item is meant for; now and then someone it is not (refused)."""
        if rng.random() >= 0.9:
            return rng.choice(community.people)
        need = self.needs[item.code]
        key = (community.id, repr(sorted(need.items())))
        eligible = self._eligible.get(key)
        if eligible is None:
            eligible = self._eligible[key] = tuple(p for p in community.people if _fits(p, need, on))
        return rng.choice(eligible or community.people)

    def _application(self, rng: random.Random, app_id: int, item: HallItem, community: HallCommunity, channel: str,
                     t0: datetime, now: datetime, held: dict[int, set[str]]) -> tuple[dict[str, Any], list[tuple[Any, ...]]]:
        person = self._applicant(rng, item, community, t0.date())
        clerk = rng.choice(community.clerks) if community.clerks else (None, "窗口工作人员")
        applicant: tuple[int | None, str] = (None, person.name)
        submitter = clerk if channel == Channel.WINDOW else (None, "自助终端") if channel == Channel.SELF_SERVICE \
            else applicant
        row: dict[str, Any] = {
            "id": app_id, "item_version_id": item.version_id, "applicant_id": person.id, "applicant_name": person.name,
            "applicant_id_masked": person.id_masked, "community_id": community.id,
            "submitted_by_id": clerk[0] if channel == Channel.WINDOW else None, "channel": channel,
            "status": ApplicationStatus.SUBMITTED, "submitted_at": t0, "created_at": t0,
            "due_at": deadline_in_working_days(t0, item.time_limit_days), "data": self._data(rng, item, person, t0),
            "decision": Decision.NONE, "decision_reason": "", "paused_working_days": 0,
        }
        story = _Steps(row, now)
        story.step(ApplicationAction.SUBMIT, ApplicationStatus.SUBMITTED, t0, submitter)
        if item.kind == ItemKind.INSTANT and item.rule:
            facts = self._facts(person, item, row["data"], t0.date(), held)
            decision = evaluate(item.rule, facts)
            reasons = "；".join(r.message for r in (decision.failed or decision.undecided))
            row["rule_result"] = decision.as_dict()
            outcome = {True: ApplicationStatus.APPROVED, False: ApplicationStatus.REJECTED,
                       None: ApplicationStatus.PRE_REVIEW}[decision.passed]
            note = {True: "符合条件,即时办结", False: reasons, None: "无法从数据库自动判定,转人工预受理：" + reasons}
            story.step(ApplicationAction.INSTANT_DECIDE, outcome, t0 + timedelta(seconds=rng.randint(1, 5)),
                       (None, RULE_LABEL), note[decision.passed])
            if decision.passed:
                held.setdefault(person.id, set()).add(item.code)
            if decision.passed is not None:
                return row, story.events
            return self._reviewed(rng, story, item, clerk, applicant, held, person, pre_reviewed=True), story.events
        return self._reviewed(rng, story, item, clerk, applicant, held, person, pre_reviewed=False), story.events

    def _reviewed(self, rng: random.Random, story: _Steps, item: HallItem, clerk: tuple[int | None, str],
                  applicant: tuple[int | None, str], held: dict[int, set[str]], person: HallPerson, *,
                  pre_reviewed: bool) -> dict[str, Any]:
        """Pre-review, correction, forwarding and the decision, as far as they happened."""
        row = story.row
        t = story.at
        if not pre_reviewed:
            t = _later(t, rng.uniform(0.5, 20))
            if not story.step(ApplicationAction.START_PRE_REVIEW, ApplicationStatus.PRE_REVIEW, t, clerk,
                              rng.choice(("材料齐全，受理", "开始预受理", "已核对原件"))):
                return row
        if rng.random() < 0.03:
            story.step(ApplicationAction.WITHDRAW, ApplicationStatus.WITHDRAWN, _later(t, rng.uniform(2, 72)), applicant,
                       "申请人撤回")
            return row
        if rng.random() < 0.15:
            returned = _later(t, rng.uniform(1, 30))
            missing = [f"{name}（{rng.choice(MATERIAL_ISSUES)}）"
                       for name in rng.sample(item.materials, min(len(item.materials), rng.randint(1, 2)))]
            if not story.step(ApplicationAction.RETURN_FOR_CORRECTION, ApplicationStatus.RETURNED, returned, clerk,
                              "请补正后重新提交", missing or ["申请表（缺少签字）"]):
                return row
            row["paused_at"] = returned
            again = returned + timedelta(days=rng.uniform(1, 9))
            if rng.random() < 0.12:
                story.step(ApplicationAction.WITHDRAW, ApplicationStatus.WITHDRAWN, again + timedelta(days=20),
                           applicant, "申请人未补正，撤回申请")
                row["paused_at"] = None if story.status == ApplicationStatus.WITHDRAWN else returned
                return row
            if not story.step(ApplicationAction.RESUBMIT, ApplicationStatus.RESUBMITTED, again, applicant, "已补正"):
                return row
            paused = max(len([d for d in _days(returned.date(), again.date()) if is_working_day(d)]), 0)
            row["paused_working_days"] = paused
            row["paused_at"] = None
            if paused and row["due_at"] is not None:
                local = row["due_at"].astimezone(SHANGHAI)
                row["due_at"] = datetime.combine(add_working_days(local.date(), paused), local.timetz())
            t = again
        promised = max(item.promised_days, 1)
        span_days = promised * rng.uniform(0.3, 1.05)
        if rng.random() < 0.04:
            # A few run past the legal limit (the overdue sweep marks and supervises them).
            span_days = max(item.time_limit_days, 1) * rng.uniform(1.05, 1.5)
        decided = datetime.combine(add_working_days(t.astimezone(SHANGHAI).date(), max(round(span_days), 0)),
                                   t.astimezone(SHANGHAI).timetz()) + timedelta(hours=rng.uniform(0, 5))
        approve = rng.random() < 0.9
        reason = rng.choice(REJECT_REASONS) if not item.code.startswith(("MZ001", "MZ002", "MZ003")) \
            else MEANS_TESTED_REJECT
        if item.level == ItemLevel.COMMUNITY:
            if story.status == ApplicationStatus.RESUBMITTED and not story.step(
                    ApplicationAction.START_PRE_REVIEW, ApplicationStatus.PRE_REVIEW, _later(t, 2), clerk, "补正材料已核对"):
                return row
            decider = clerk
        else:
            if not story.step(ApplicationAction.FORWARD, ApplicationStatus.FORWARDED, _later(t, rng.uniform(1, 24)), clerk,
                              f"转{_reviewer(item)}办理"):
                return row
            decider = (None, _reviewer(item))
        if approve:
            if story.step(ApplicationAction.APPROVE, ApplicationStatus.APPROVED, decided, decider,
                          rng.choice(("准予办理", "审核通过", "符合条件，准予"))):
                held.setdefault(person.id, set()).add(item.code)
        else:
            story.step(ApplicationAction.REJECT, ApplicationStatus.REJECTED, decided, decider, reason)
        return row

    @staticmethod
    def _facts(person: HallPerson, item: HallItem, data: dict[str, Any], on: date,
               held: dict[int, set[str]]) -> dict[str, Any]:
        facts: dict[str, Any] = {f"application.{k}": v for k, v in data.items() if not k.endswith("_enc")}
        facts.update({
            "person.age": age_on(person.birth_date, on) if person.birth_date else None, "person.sex": person.sex,
            "person.hukou": person.hukou, "person.tags": sorted(person.tags), "person.is_deceased": False,
        })
        mine = held.get(person.id, set())
        codes = {f.removeprefix("benefit.") for f in facts_used(item.rule or {}) if f.startswith("benefit.")}
        for code in codes | mine:
            facts[f"benefit.{code}"] = code in mine
        return facts

    @staticmethod
    def _data(rng: random.Random, item: HallItem, person: HallPerson, t0: datetime) -> dict[str, Any]:
        """The form as the clerk filled it: the applicant (identifiers sealed later) and the
        item's own questions answered plausibly."""
        data: dict[str, Any] = {"name": person.name, "by_agent": False}
        for f in item.details:
            key, kind = f["key"], f["type"]
            if kind in ("select", "multiselect") and f.get("options"):
                value = rng.choice(f["options"])["value"]
                data[key] = [value] if kind == "multiselect" else value
            elif kind == "number":
                low = float(f.get("min", 0))
                data[key] = int(min(float(f.get("max", low + 10)), low + rng.choice((1, 2, 3, 800, 1500, 3000))))
            elif kind == "date":
                data[key] = (t0.date() - timedelta(days=rng.randint(0, 30))).isoformat()
            elif kind == "boolean":
                data[key] = rng.random() < 0.9
            elif kind == "text" and key.endswith("name"):
                data[key] = reporter_name(rng)[0] + rng.choice(("小宝", "一鸣", "子涵", "欣怡", "浩然", "雨桐"))
            elif kind in ("text", "textarea") and f.get("required"):
                data[key] = "详见申请材料"
        return data

    def appointments(self, rng: random.Random, day: date, now: datetime, first_id: int,
                     numbers: dict[str, int]) -> list[tuple[Any, ...]]:
        """The bookings of every window for ``day``: (id, window, slot, seat, person, status,
        queue number, checked in, served, cancelled, item)."""
        out: list[tuple[Any, ...]] = []
        if not is_working_day(day):
            return out
        for community in self.communities:
            if community.window_id is None:
                continue
            slots = _slots(community, day)
            count = min(len(slots) * community.capacity, _poisson(rng, self.bookings_per_window_day))
            taken: dict[datetime, int] = {}
            people: set[tuple[datetime, int]] = set()
            bookings = []
            for _ in range(count):
                slot = rng.choice(slots)
                seat = taken.get(slot, 0) + 1
                person = rng.choice(community.people)
                if seat > community.capacity or (slot, person.id) in people:
                    continue
                taken[slot] = seat
                people.add((slot, person.id))
                bookings.append((slot, seat, person))
            queue = f"queue:{community.window_id}:{day:%Y%m%d}"
            for slot, seat, person in sorted(bookings, key=lambda b: (b[0], b[1])):
                status, checked, served, cancelled, number = AppointmentStatus.BOOKED, None, None, None, ""
                roll = rng.random()
                if roll < 0.08:
                    status, cancelled = AppointmentStatus.CANCELLED, slot - timedelta(hours=rng.uniform(2, 48))
                elif slot < now:
                    if roll < 0.16:
                        status = AppointmentStatus.NO_SHOW
                    else:
                        checked = slot + timedelta(minutes=rng.uniform(-12, 8))
                        served = checked + timedelta(minutes=rng.uniform(2, 25))
                        numbers[queue] = numbers.get(queue, 0) + 1
                        number = f"A{numbers[queue]:03d}"
                        status = AppointmentStatus.DONE if served < now else AppointmentStatus.CHECKED_IN
                        served = served if served < now else None
                item = rng.choices(self.items, cum_weights=self.cum_weights)[0]
                out.append((first_id + len(out), community.window_id, slot, seat, person, status, number,
                            checked, served, cancelled, item.item_id))
        return out


class _Steps:
    """One application's row and events while it is generated."""

    def __init__(self, row: dict[str, Any], now: datetime) -> None:
        self.row = row
        self.now = now
        self.status: str = ApplicationStatus.DRAFT
        self.at: datetime = row["submitted_at"]
        self.events: list[tuple[Any, ...]] = []

    def step(self, action: str, to: str, at: datetime, actor: tuple[int | None, str], note: str = "",
             missing: Sequence[str] = ()) -> bool:
        """Record a step if it happened before now."""
        if at > self.now:
            return False
        self.events.append((action, self.status, to, actor[0], actor[1][:150], note, list(missing), at))
        self.row["version"] = len(self.events) + 1  # bumped on every status change
        self.status = to
        self.at = at
        self.row["status"] = to
        self.row["updated_at"] = at
        if to in (ApplicationStatus.APPROVED, ApplicationStatus.REJECTED):
            self.row.update(decided_at=at, decision=Decision.APPROVED if to == ApplicationStatus.APPROVED
                            else Decision.REJECTED, decision_reason=note)
            due = self.row.get("due_at")
            if due is not None and at > due:
                # Decided late: the sweep had marked it overdue and supervised.
                self.row.update(overdue_at=due + timedelta(minutes=15), supervised_at=due + timedelta(minutes=15))
        return True


def _later(at: datetime, hours: float) -> datetime:
    return at + timedelta(hours=hours)


def _days(start: date, end: date) -> Iterator[date]:
    day = start + timedelta(days=1)
    while day <= end:
        yield day
        day += timedelta(days=1)


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method: fine for the small means of a window's day.
    limit, k, p = pow(2.718281828459045, -mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _slots(community: HallCommunity, day: date) -> list[datetime]:
    out = []
    for start, end in community.opening_hours.get(str(day.isoweekday()), []):
        at = datetime.combine(day, clock.fromisoformat(start), tzinfo=SHANGHAI)
        stop = datetime.combine(day, clock.fromisoformat(end), tzinfo=SHANGHAI)
        while at + timedelta(minutes=community.slot_minutes) <= stop:
            out.append(at)
            at += timedelta(minutes=community.slot_minutes)
    return out
