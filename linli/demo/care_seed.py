"""The demo street's proactive care: policies, who receives what (from the key-population
tags: 低保 households get 低保, the 80-plus mostly get 高龄津贴 — not all, so the sweep has
something to find), care profiles, hospitalisations, a month of visits by the grid workers,
and the sweeps of a month ago and of today, so that colours, due and overdue visits, work
orders and recommendations are all there. Seeded only when no benefit exists."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from linli.accounts.choices import AssignmentKind, Role
from linli.accounts.models import AreaAssignment
from linli.care.choices import BenefitSource, CareEventKind, ItemStatus
from linli.care.models import Benefit, CareEvent, CareProfile, DueVisit, ElderLevel, Policy, Visit
from linli.care.services import policies_seed
from linli.care.services.sweep import sweep_run
from linli.care.workflow import age_on
from linli.core.actors import Actor
from linli.core.services import audit_record
from linli.registry.choices import TagKind
from linli.registry.models import Person, PersonTag

# What grid workers write after a visit (民情日志), with the need it raises, if any.
VISIT_NOTES: tuple[tuple[str, str], ...] = (
    ("老人身体状况稳定，独自在家，冰箱里食物充足。", ""),
    ("检查了燃气阀门和电线插座，提醒老人离家关火断电。", ""),
    ("子女每周末来看望，老人精神状态良好。", ""),
    ("老人腿脚不便，下楼买菜困难。", "希望社区安排助餐或送餐服务"),
    ("卫生间地面湿滑，老人上月在家摔过一次。", "申请适老化改造，安装卫生间扶手"),
    ("老人血压偏高，已提醒按时服药。", "希望家庭医生上门随访"),
    ("楼道灯坏了，晚上出入不便。", "楼道灯损坏，请物业维修"),
    ("老人说最近睡眠不好，有些孤单。", "希望志愿者定期陪聊"),
)
FINDINGS = {"health": ("good", "fair", "poor"), "living": ("normal", "attention"),
            "safety": ("none", "none", "gas", "fall"), "mood": ("good", "good", "low")}


@dataclass
class CareSeedReport:
    benefits: int = 0
    visits: int = 0
    skipped: bool = False


def _tagged(kind: str) -> set[int]:
    return set(PersonTag.objects.filter(kind=kind).values_list("person_id", flat=True))


def seed_care_if_missing(*, actor: Actor, seed: int, today: date | None = None) -> CareSeedReport:
    if Benefit.objects.exists():
        return CareSeedReport(skipped=True)
    day = today or timezone.localdate()
    rng = random.Random(seed)
    policies_seed(actor=actor)
    policy = {p.code: p for p in Policy.objects.all()}
    disabled, dibao, dibian = _tagged(TagKind.DISABLED), _tagged(TagKind.SUBSISTENCE), _tagged(TagKind.NEAR_SUBSISTENCE)
    amounts = {code: p.versions.order_by("-number").values_list("amount", flat=True).first() for code, p in policy.items()}
    profiles, benefits, events = [], [], []
    with transaction.atomic():
        for pk, birth, hukou, dead in Person.objects.order_by().values_list("pk", "birth_date", "hukou", "is_deceased"):
            age = age_on(birth, day) if birth else None
            grade = rng.choice([1, 2, 2, 3, 3, 4]) if pk in disabled else None
            income = None
            if pk in dibao:
                income = Decimal(rng.choice([600, 850, 1100]))
            elif pk in dibian:
                income = Decimal(rng.choice([1400, 1650, 1850]))
            bedridden = age is not None and age >= 80 and rng.random() < 0.08
            if grade or income is not None or bedridden:
                profiles.append(CareProfile(person_id=pk, disability_grade=grade, income_per_head=income,
                                            bedridden=bedridden))

            def grant(code: str, *, share: float = 1.0, pk: int = pk) -> None:
                if rng.random() < share:
                    ends = rng.choice([None, None, day + timedelta(days=rng.randrange(3, 75)),
                                       day + timedelta(days=rng.randrange(90, 400))])
                    benefits.append(Benefit(person_id=pk, policy=policy[code], starts_on=day - timedelta(
                        days=rng.randrange(60, 1500)), ends_on=ends, amount=amounts.get(code),
                        source=BenefitSource.CANLIAN_IMPORT if code.startswith("canji") else BenefitSource.MINZHENG_IMPORT))

            if hukou != "local" or age is None:
                continue
            if pk in dibao:
                grant("dibao", share=0.95)
            if pk in dibian:
                grant("dibian", share=0.9)
            if 70 <= age < 80:
                grant("zunlaojin", share=0.85)
            elif 80 <= age < 90:
                # The dead still paid: the sweep sends them to review.
                grant("gaoling_80", share=0.97 if dead else 0.85)
            elif 90 <= age < 100:
                grant("gaoling_90", share=0.9)
            elif age >= 100:
                grant("gaoling_100")
            if grade in (1, 2) and not dead:
                grant("canji_huli", share=0.8)
            if age >= 60 and not dead and rng.random() < 0.02:
                events.append(CareEvent(person_id=pk, kind=CareEventKind.HOSPITALISATION, source="医保结算",
                                        occurred_on=day - timedelta(days=rng.randrange(1, 40)), note="住院治疗"))
        CareProfile.objects.bulk_create(profiles, batch_size=2000)
        Benefit.objects.bulk_create(benefits, batch_size=2000)
        CareEvent.objects.bulk_create(events, batch_size=2000)
        audit_record(actor=actor, action="care.demo.seed", target_type="care.benefit", reason=str(len(benefits)))
    # A month ago the sweep put the elders on their lists; the workers visited most of them.
    month_ago = day - timedelta(days=30)
    sweep_run(on=month_ago, actor=actor)
    visits = _month_of_visits(rng, month_ago, day)
    sweep_run(on=day, actor=actor)
    # Four earlier months of visits, so the statistics' monthly chart has a history. After
    # the sweeps: visits older than each elder's last one change no plan.
    visits += _earlier_months_of_visits(rng, day)
    return CareSeedReport(benefits=len(benefits), visits=visits)


# Share of the elders visited in each earlier month, oldest first: coverage rising as the
# street took up the visit plans.
EARLIER_COVERAGE = (0.6, 0.66, 0.72, 0.78)


def _earlier_months_of_visits(rng: random.Random, day: date) -> int:
    """One visit per elder and month for a share of the elders, in the four months before
    last month: plain rows in one bulk insert (no photos, no due visits to close)."""
    workers = dict(AreaAssignment.objects.filter(kind=AssignmentKind.PRIMARY, user__role=Role.GRID_WORKER)
                   .values_list("area_id", "user_id"))
    tz = timezone.get_current_timezone()
    elders = list(ElderLevel.objects.values_list("person_id", "grid_id"))
    first = (day.replace(day=1) - timedelta(days=1)).replace(day=1)  # last month's first day
    rows = []
    for back, share in zip(range(len(EARLIER_COVERAGE), 0, -1), EARLIER_COVERAGE, strict=True):
        month = first
        for _i in range(back):
            month = (month - timedelta(days=1)).replace(day=1)
        for person_id, grid_id in elders:
            visitor = workers.get(grid_id or 0)
            if visitor is None or rng.random() >= share:
                continue
            at = datetime.combine(month + timedelta(days=rng.randrange(0, 27)),
                                  time(rng.randrange(8, 17), rng.randrange(60)), tzinfo=tz)
            notes, needs = rng.choice(VISIT_NOTES)
            rows.append(Visit(person_id=person_id, grid_id=grid_id, visitor_id=visitor, visited_at=at,
                              met="本人", findings={k: rng.choice(v) for k, v in FINDINGS.items()},
                              notes=notes, needs=needs))
    Visit.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def _month_of_visits(rng: random.Random, first: date, last: date) -> int:
    workers = dict(AreaAssignment.objects.filter(kind=AssignmentKind.PRIMARY, user__role=Role.GRID_WORKER)
                   .values_list("area_id", "user_id"))
    tz = timezone.get_current_timezone()
    made = 0
    with transaction.atomic():
        due = list(DueVisit.objects.filter(status=ItemStatus.OPEN).select_related("person__building"))
        for item in due:
            visitor = workers.get(item.grid_id or 0)
            if visitor is None or rng.random() < 0.2:  # a fifth stays undone: overdue today
                continue
            on = min(last - timedelta(days=1), item.due_on + timedelta(days=rng.randrange(0, 6)))
            at = datetime.combine(on, time(rng.randrange(8, 17), rng.randrange(60)), tzinfo=tz)
            notes, needs = rng.choice(VISIT_NOTES)
            building = item.person.building
            visit = Visit.objects.create(
                person_id=item.person_id, grid_id=item.grid_id, visitor_id=visitor, visited_at=at,
                place=building.address if building else "", met=rng.choice(["本人", "本人及老伴", "本人及女儿"]),
                findings={k: rng.choice(v) for k, v in FINDINGS.items()}, notes=notes, needs=needs,
                lon=building.lon if building else None, lat=building.lat if building else None)
            DueVisit.objects.filter(pk=item.pk).update(status=ItemStatus.DONE, visit=visit)
            made += 1
    return made
