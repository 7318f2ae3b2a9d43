"""Writes of the care app: policies and their versions, benefits, care events, visits, work
orders. The nightly sweep is in :mod:`linli.care.services.sweep`.

Each write is keyword-only with an explicit actor, owns its transaction and writes its audit
entry there.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.accounts.choices import Permission
from linli.accounts.selectors import scope_for
from linli.care.choices import (
    BenefitSource,
    BenefitState,
    CareEventKind,
    Colour,
    ItemStatus,
    VisitReason,
)
from linli.care.errors import CareErrorCode
from linli.care.models import (
    Benefit,
    BenefitEvent,
    CareEvent,
    DueVisit,
    LevelRule,
    Policy,
    PolicyVersion,
    Visit,
    VisitPhoto,
    VisitPlan,
    WorkOrder,
)
from linli.care.policies_seed import SEED_LEVEL_RULES, SEED_POLICIES
from linli.care.workflow import (
    COLOUR_ORDER,
    DEFAULT_VISIT_DAYS,
    MUST_VISIT_DAYS,
    benefit_codes,
    birthday_threshold_age,
    policy_by_age,
    rule_policy_codes,
    rule_validate,
)
from linli.cases.services import PhotoInput, case_open, photo_check
from linli.catalogue.models import Application
from linli.core.actors import Actor, SystemActor, actor_label
from linli.core.errors import NotFound, PermissionDenied, ValidationFailed
from linli.core.services import audit_record
from linli.notify.services import notification_enqueue
from linli.registry.models import Person

logger = logging.getLogger(__name__)

SEED_ACTOR = SystemActor("command:care_seed")
MAX_VISIT_PHOTOS = 9


def _require(actor: Actor, permission: str) -> None:
    if isinstance(actor, SystemActor):
        return
    if not scope_for(actor).can(permission):  # type: ignore[arg-type]
        raise PermissionDenied(_("无权执行此操作"))


# --- policies ----------------------------------------------------------------------------

def policy_rule_check(rule: Any) -> None:
    """Refuse a rule with an error naming the node: syntax, unknown field or value, type
    mismatch, or a ``benefits`` condition on a policy that does not exist."""
    check = rule_validate(rule)
    if not check.ok:
        raise ValidationFailed("rule", "；".join(check.errors), code=CareErrorCode.BAD_RULE)
    unknown = sorted(rule_policy_codes(rule) - set(Policy.objects.values_list("code", flat=True)))
    if unknown:
        raise ValidationFailed("rule", _("未知政策编码：%(c)s") % {"c": "、".join(unknown)},
                               code=CareErrorCode.BAD_RULE)


def policy_version_create(
    *, policy: Policy, rule: Mapping[str, Any], effective_from: date, actor: Actor,
    amount: Decimal | None = None, note: str = "", allow_everyone: bool = False,
) -> PolicyVersion:
    """A new version of a policy's rule from ``effective_from``; the version before ends the
    day before. A rule that matches every living person is refused unless ``allow_everyone``
    (it is almost always a mistake: a missing condition)."""
    _require(actor, Permission.MANAGE_RULES)
    policy_rule_check(rule)
    from linli.care.selectors import rule_match_count

    counted = rule_match_count(rule=rule, on=effective_from)
    if counted.matches_everyone and not allow_everyone:
        raise ValidationFailed("rule", _("该条件匹配全部%(n)s人，请检查是否缺少条件") % {"n": counted.total},
                               code=CareErrorCode.RULE_TOO_BROAD)
    with transaction.atomic():
        locked = Policy.objects.select_for_update().get(pk=policy.pk)
        last = locked.versions.order_by("-number").first()
        if last is not None and effective_from <= last.effective_from:
            raise ValidationFailed("effective_from", _("生效日期须晚于上一版本的生效日期%(d)s") % {
                "d": last.effective_from.isoformat()}, code=CareErrorCode.BAD_DATES)
        if last is not None and (last.effective_to is None or last.effective_to >= effective_from):
            last.effective_to = effective_from - timedelta(days=1)
            last.save(update_fields=["effective_to", "updated_at"])
        version = PolicyVersion.objects.create(
            policy=locked, number=(last.number + 1) if last else 1, rule=dict(rule),
            amount=amount if amount is not None else (last.amount if last else None),
            effective_from=effective_from, note=note,
            created_by_id=None if isinstance(actor, SystemActor) else actor.pk,
        )
        audit_record(actor=actor, action="care.policy.version", target_type="care.policy",
                     target_id=locked.pk, fields=["rule", "effective_from"], reason=f"v{version.number}")
    return version


def policy_create(
    *, code: str, name: str, rule: Mapping[str, Any], effective_from: date, actor: Actor, department: str = "",
    amount: Decimal | None = None, expiry_notice_days: int = 30, allow_everyone: bool = False,
) -> Policy:
    """A new policy with its first version (the rule checked exactly as for a new version)."""
    _require(actor, Permission.MANAGE_RULES)
    if not code or Policy.objects.filter(code=code).exists():
        raise ValidationFailed("code", _("编码为空或已存在"))
    if not name.strip():
        raise ValidationFailed("name", _("请填写名称"))
    with transaction.atomic():
        policy = Policy.objects.create(code=code, name=name.strip(), department=department,
                                       expiry_notice_days=expiry_notice_days)
        audit_record(actor=actor, action="care.policy.create", target_type="care.policy", target_id=policy.pk,
                     fields=["code", "name"])
        policy_version_create(policy=policy, rule=rule, effective_from=effective_from, actor=actor, amount=amount,
                              note=_("初始版本"), allow_everyone=allow_everyone)
    return policy


def policies_seed(*, actor: Actor = SEED_ACTOR, effective_from: date = date(2024, 1, 1)) -> int:
    """The seed policies, level rules and visit plans; idempotent (by code). Returns how
    many policies were created."""
    created = 0
    with transaction.atomic():
        for spec in SEED_POLICIES:
            policy, new = Policy.objects.get_or_create(code=spec["code"], defaults={
                "name": spec["name"], "department": spec["department"], "basis": spec["basis"],
                "expiry_notice_days": spec["expiry_notice_days"], "catalogue_item_code": spec.get("catalogue_item", "")})
            if new:
                created += 1
            elif not policy.catalogue_item_code and spec.get("catalogue_item"):
                # Policies seeded before the link existed learn their catalogue item.
                policy.catalogue_item_code = spec["catalogue_item"]
                policy.save(update_fields=["catalogue_item_code", "updated_at"])
        # Versions after all policies exist: rules may name other policies.
        for spec in SEED_POLICIES:
            policy = Policy.objects.get(code=spec["code"])
            if not policy.versions.exists():
                policy_rule_check(spec["rule"])
                PolicyVersion.objects.create(
                    policy=policy, number=1, rule=spec["rule"], effective_from=effective_from,
                    amount=Decimal(spec["amount"]) if spec["amount"] else None, note=_("初始版本"))
        if not LevelRule.objects.exists():
            for position, spec in enumerate(SEED_LEVEL_RULES):
                policy_rule_check(spec["rule"])
                LevelRule.objects.create(position=position, **spec)
        for colour, days in DEFAULT_VISIT_DAYS.items():
            VisitPlan.objects.get_or_create(colour=colour, defaults={"every_days": days})
        if created:
            audit_record(actor=actor, action="care.policy.seed", target_type="care.policy", reason=str(created))
    return created


def _level_rule_check(*, colour: str, name: str, rule: Mapping[str, Any]) -> None:
    if colour not in Colour.values:
        raise ValidationFailed("colour", _("未知颜色“%(c)s”") % {"c": colour}, code=CareErrorCode.BAD_RULE)
    if not name.strip():
        raise ValidationFailed("name", _("请填写名称"))
    policy_rule_check(rule)


def level_rule_update(*, level_rule: LevelRule, rule: Mapping[str, Any], name: str, actor: Actor,
                      colour: str | None = None) -> LevelRule:
    """Change a three-colour rule (applied by the next sweep)."""
    _require(actor, Permission.MANAGE_RULES)
    colour = level_rule.colour if colour is None else colour
    _level_rule_check(colour=colour, name=name, rule=rule)
    with transaction.atomic():
        level_rule.rule, level_rule.name, level_rule.colour = dict(rule), name.strip(), colour
        level_rule.save(update_fields=["rule", "name", "colour", "updated_at"])
        audit_record(actor=actor, action="care.level_rule.update", target_type="care.levelrule",
                     target_id=level_rule.pk, fields=["rule", "name", "colour"])
    return level_rule


def level_rule_create(*, colour: str, name: str, rule: Mapping[str, Any], actor: Actor) -> LevelRule:
    """A new three-colour rule, last in the list (applied by the next sweep)."""
    _require(actor, Permission.MANAGE_RULES)
    _level_rule_check(colour=colour, name=name, rule=rule)
    with transaction.atomic():
        last = LevelRule.objects.select_for_update().order_by("-position", "-id").first()
        level_rule = LevelRule.objects.create(colour=colour, name=name.strip(), rule=dict(rule),
                                              position=(last.position + 1) if last else 0)
        audit_record(actor=actor, action="care.level_rule.create", target_type="care.levelrule",
                     target_id=level_rule.pk, fields=["colour", "name", "rule"])
    return level_rule


def level_rule_delete(*, level_rule: LevelRule, actor: Actor) -> None:
    """Remove a three-colour rule; elders' colours follow at the next sweep (history kept)."""
    _require(actor, Permission.MANAGE_RULES)
    with transaction.atomic():
        audit_record(actor=actor, action="care.level_rule.delete", target_type="care.levelrule",
                     target_id=level_rule.pk, reason=f"{level_rule.colour}: {level_rule.name}"[:200])
        level_rule.delete()


def level_rule_move(*, level_rule: LevelRule, up: bool, actor: Actor) -> list[LevelRule]:
    """Move a rule one place up or down in the list (the order of an elder's reasons; the
    colours are always decided red, then yellow, then green). Positions are renumbered 0…n."""
    _require(actor, Permission.MANAGE_RULES)
    with transaction.atomic():
        ordered = list(LevelRule.objects.select_for_update().order_by("position", "id"))
        at = next(i for i, r in enumerate(ordered) if r.pk == level_rule.pk)
        to = at - 1 if up else at + 1
        if 0 <= to < len(ordered):
            ordered[at], ordered[to] = ordered[to], ordered[at]
            for position, item in enumerate(ordered):
                if item.position != position:
                    item.position = position
                    item.save(update_fields=["position", "updated_at"])
            audit_record(actor=actor, action="care.level_rule.move", target_type="care.levelrule",
                         target_id=level_rule.pk, reason=str(to))
    return ordered


VISIT_DAYS_MAX = 366


def visit_plans_update(*, every_days: Mapping[str, int], actor: Actor) -> list[VisitPlan]:
    """Change how often elders of each colour are visited (a district administrator). The
    next sweep plans each elder's next visit with it (open planned visits lie at most a
    week ahead, so they stay). Each change is audited with the old and new figure."""
    _require(actor, Permission.MANAGE_RULES)
    for colour, days in every_days.items():
        if colour not in Colour.values:
            raise ValidationFailed("colour", _("未知颜色“%(c)s”") % {"c": colour}, code=CareErrorCode.BAD_RULE)
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= VISIT_DAYS_MAX:
            raise ValidationFailed(f"every_days_{colour}", _("走访周期须为1到366天"))
    with transaction.atomic():
        plans = {p.colour: p for p in VisitPlan.objects.select_for_update()}
        for colour, days in every_days.items():
            plan = plans.get(colour)
            before = plan.every_days if plan is not None else DEFAULT_VISIT_DAYS[colour]
            if plan is not None and before == days:
                continue
            if plan is None:
                plan = plans[colour] = VisitPlan.objects.create(colour=colour, every_days=days)
            else:
                plan.every_days = days
                plan.save(update_fields=["every_days", "updated_at"])
            audit_record(actor=actor, action="care.visit_plan.update", target_type="care.visitplan",
                         target_id=plan.pk, fields=["every_days"], reason=f"{colour}: {before} → {days}")
    return sorted(plans.values(), key=lambda p: COLOUR_ORDER.index(p.colour))


# --- benefits ----------------------------------------------------------------------------

# (from state, action) → to state
BENEFIT_TRANSITIONS: dict[tuple[str, str], str] = {
    (BenefitState.ACTIVE, "suspend"): BenefitState.SUSPENDED,
    (BenefitState.SUSPENDED, "resume"): BenefitState.ACTIVE,
    (BenefitState.ACTIVE, "stop"): BenefitState.STOPPED,
    (BenefitState.SUSPENDED, "stop"): BenefitState.STOPPED,
    (BenefitState.ACTIVE, "expire"): BenefitState.EXPIRED,
}


def benefit_grant(
    *, person: Person, policy: Policy, starts_on: date, source: str, actor: Actor,
    ends_on: date | None = None, amount: Decimal | None = None, reason: str = "", source_ref: str = "",
) -> Benefit:
    """Record that a person receives a policy (a window decision, an import, a manual entry)."""
    if source not in BenefitSource.values:
        raise ValidationFailed("source", _("未知来源"))
    if ends_on is not None and ends_on < starts_on:
        raise ValidationFailed("ends_on", _("截止日期不能早于起始日期"), code=CareErrorCode.BAD_DATES)
    with transaction.atomic():
        benefit = Benefit.objects.create(person=person, policy=policy, starts_on=starts_on, ends_on=ends_on,
                                         amount=amount, source=source, source_ref=source_ref)
        BenefitEvent.objects.create(benefit=benefit, action="grant", to_state=benefit.state, reason=reason,
                                    actor_label=actor_label(actor))
        audit_record(actor=actor, action="care.benefit.grant", target_type="care.benefit", target_id=benefit.pk,
                     fields=["person", "policy", "starts_on", "ends_on", "amount"], reason=source_ref)
    return benefit


def _policies_for_item(item_code: str, person: Person, on: date) -> list[PolicyVersion]:
    """The policies an approval of ``item_code`` grants: the only one linked, or, when several
    share the item (高龄津贴 80/90), those whose rule the person meets on ``on``."""
    from linli.care.rules_query import rule_to_q
    from linli.care.services.sweep import versions_in_force

    linked = [v for v in versions_in_force(on) if v.policy.catalogue_item_code == item_code]
    if len(linked) <= 1:
        return linked
    picked = []
    for version in linked:
        try:
            holds = Person.objects.filter(rule_to_q(version.rule, on=on), pk=person.pk).exists()
        except ValueError:  # a stored rule the checker now refuses must not block the approval
            logger.warning("policy %s: rule v%s no longer valid", version.policy.code, version.number)
            continue
        if holds:
            picked.append(version)
    return picked


def benefit_from_application(*, application: Application, actor: Actor, now: datetime) -> list[Benefit]:
    """Listener of the catalogue: an approved application of a benefit item grants the
    benefit, in the approval's transaction, with the application as its provenance.
    Idempotent per application and policy."""
    person = application.applicant
    if person is None:
        return []
    on = timezone.localdate(now)
    ref = f"catalogue.application:{application.number}"
    granted = []
    for version in _policies_for_item(application.item_version.item.code, person, on):
        if Benefit.objects.filter(person=person, policy=version.policy, source_ref=ref).exists():
            continue
        granted.append(benefit_grant(
            person=person, policy=version.policy, starts_on=on, source=BenefitSource.WINDOW, actor=actor,
            amount=version.amount, source_ref=ref,
            reason=_("申请 %(number)s 审批通过") % {"number": application.number}))
    return granted


IMPORT_ACTOR = SystemActor("job:fusion_import")
IMPORT_SLICE = 5000


def _benefit_rows_by_age(
    rows: Sequence[tuple[int, str, date | None, date | None]], policies: Mapping[str, Policy], *, source_code: str,
) -> list[tuple[int, str, date | None, date | None]]:
    """Rows naming several policies (an age band: ``zunlaojin|gaoling_80|…``) get the one the
    person's age at the benefit's start picks (``workflow.policy_by_age``, the bands from
    each policy's ``age gte N``); a row no band fits (no birth date, too young) is dropped."""
    choosing = [r for r in rows if len(benefit_codes(r[1])) > 1]
    if not choosing:
        return list(rows)
    from linli.care.services.sweep import versions_in_force

    minimum = {v.policy.code: birthday_threshold_age(v.rule) for v in versions_in_force(timezone.localdate())}
    persons = sorted({person for person, _, _, _ in choosing})
    births: dict[int, date | None] = {}
    for start in range(0, len(persons), IMPORT_SLICE):
        births.update(Person.objects.filter(pk__in=persons[start:start + IMPORT_SLICE])
                      .values_list("pk", "birth_date"))
    today = timezone.localdate()
    out: list[tuple[int, str, date | None, date | None]] = []
    dropped = 0
    for person, code, start_on, end_on in rows:
        candidates = benefit_codes(code)
        if len(candidates) > 1:
            bands = {c: age for c in candidates if c in policies and (age := minimum.get(c)) is not None}
            picked = policy_by_age(birth_date=births.get(person), on=start_on or today, bands=bands)
            if picked is None:
                dropped += 1
                continue
            code = picked
        out.append((person, code, start_on, end_on))
    if dropped:
        logger.info("import %s: %d age-banded benefit rows fit no band", source_code, dropped)
    return out


def benefit_import_record(
    *, source_code: str, department: str, job_id: int | None, rows: Sequence[tuple[int, str, date | None, date | None]],
) -> int:
    """Listener of fusion: the benefit facts of an imported list (person, policy code, from,
    to) become benefits, in the import's transaction, with the import as provenance. A person
    already holding an active or suspended benefit of that policy is left alone, so a
    re-import adds nothing. Set-based: one read of what is held, bulk writes. Returns how many
    were recorded."""
    named = {code for _, code, _, _ in rows}
    policies = {p.code: p for p in Policy.objects.filter(code__in={c for code in named for c in benefit_codes(code)})}
    unknown = sorted({c for code in named for c in benefit_codes(code)} - set(policies))
    if unknown:
        logger.warning("import %s: unknown benefit codes %s skipped", source_code, ", ".join(unknown))
    rows = _benefit_rows_by_age(rows, policies, source_code=source_code)
    wanted = [(person, policies[code], start, end) for person, code, start, end in rows if code in policies]
    if not wanted:
        return 0
    persons = sorted({person for person, _, _, _ in wanted})
    held: set[tuple[int, int]] = set()
    # In slices: a whole district's list would pass SQLite's limit of bound parameters.
    for start in range(0, len(persons), IMPORT_SLICE):
        held.update(Benefit.objects.filter(
            policy__in=policies.values(), person_id__in=persons[start:start + IMPORT_SLICE],
            state__in=[BenefitState.ACTIVE, BenefitState.SUSPENDED]).values_list("person_id", "policy_id"))
    source = BenefitSource.CANLIAN_IMPORT if source_code == "canlian" else BenefitSource.MINZHENG_IMPORT
    ref = f"fusion.{source_code}:{job_id or '-'}"
    today = timezone.localdate()
    # ``versions_in_force`` gives each policy's standard amount today.
    from linli.care.services.sweep import versions_in_force

    amounts = {v.policy_id: v.amount for v in versions_in_force(today)}
    fresh = [
        Benefit(person_id=person, policy=policy, starts_on=start or today,
                ends_on=end if end is not None and start is not None and end >= start else None,
                amount=amounts.get(policy.pk), source=source, source_ref=ref)
        for person, policy, start, end in wanted if (person, policy.pk) not in held
    ]
    if not fresh:
        return 0
    with transaction.atomic():
        # Both databases return the new keys (RETURNING), which the events need.
        created = Benefit.objects.bulk_create(fresh, batch_size=IMPORT_SLICE)
        label = actor_label(IMPORT_ACTOR)
        reason = _("%(department)s名单导入") % {"department": department}
        BenefitEvent.objects.bulk_create([
            BenefitEvent(benefit=b, action="grant", to_state=b.state, reason=reason[:300], actor_label=label)
            for b in created], batch_size=IMPORT_SLICE)
        audit_record(actor=IMPORT_ACTOR, action="care.benefit.import", target_type="care.benefit",
                     reason=f"{ref} {len(created)}")
    return len(created)


def benefit_transition(*, benefit: Benefit, action: str, actor: Actor, reason: str = "") -> Benefit:
    """Suspend, resume, stop or expire a benefit, keeping its history."""
    with transaction.atomic():
        locked = Benefit.objects.select_for_update().get(pk=benefit.pk)
        to_state = BENEFIT_TRANSITIONS.get((locked.state, action))
        if to_state is None:
            raise ValidationFailed("action", _("当前状态不能执行该操作"), code=CareErrorCode.BAD_TRANSITION)
        BenefitEvent.objects.create(benefit=locked, action=action, from_state=locked.state, to_state=to_state,
                                    reason=reason, actor_label=actor_label(actor))
        locked.state = to_state
        locked.save(update_fields=["state", "updated_at"])
        audit_record(actor=actor, action=f"care.benefit.{action}", target_type="care.benefit",
                     target_id=locked.pk, fields=["state"], reason=reason)
    return locked


def benefit_renew(*, benefit: Benefit, ends_on: date, actor: Actor) -> Benefit:
    """Extend a benefit (after the renewal work order): closes its open expiry work order."""
    with transaction.atomic():
        locked = Benefit.objects.select_for_update().get(pk=benefit.pk)
        if locked.state != BenefitState.ACTIVE or (locked.ends_on and ends_on <= locked.ends_on):
            raise ValidationFailed("ends_on", _("只能延长享受中的待遇"), code=CareErrorCode.BAD_DATES)
        BenefitEvent.objects.create(benefit=locked, action="renew", from_state=locked.state, to_state=locked.state,
                                    reason=ends_on.isoformat(), actor_label=actor_label(actor))
        locked.ends_on = ends_on
        locked.save(update_fields=["ends_on", "updated_at"])
        WorkOrder.objects.filter(benefit=locked, status=ItemStatus.OPEN).update(
            status=ItemStatus.DONE, done_at=timezone.now(), updated_at=timezone.now())
        audit_record(actor=actor, action="care.benefit.renew", target_type="care.benefit",
                     target_id=locked.pk, fields=["ends_on"])
    return locked


def benefit_certification_record(*, benefit_ids: Sequence[int], year: int, method: str, actor: Actor,
                                 reference: str = "") -> int:
    """The yearly living certification of a holder (face check or home visit, decided by the
    portal) recorded on each of their benefits' history, in the caller's transaction.
    Returns how many benefits got the entry (one per benefit and year)."""
    action = "certify"
    reason = f"{year}:{method}"
    already = BenefitEvent.objects.filter(benefit=OuterRef("pk"), action=action, reason__startswith=f"{year}:")
    rows = list(Benefit.objects.filter(pk__in=list(benefit_ids)).exclude(Exists(already)))
    if not rows:
        return 0
    label = actor_label(actor)
    BenefitEvent.objects.bulk_create([
        BenefitEvent(benefit=b, action=action, from_state=b.state, to_state=b.state,
                     reason=f"{reason} {reference}".strip()[:300], actor_label=label) for b in rows])
    for benefit in rows:
        audit_record(actor=actor, action="care.benefit.certify", target_type="care.benefit",
                     target_id=benefit.pk, fields=["events"], reason=reason)
    return len(rows)


def care_access_record(*, actor: Actor, person: Person, request_id: str = "") -> None:
    """Log that someone opened a person's care section: benefits (income) and colour reasons
    (disability, health) are sensitive categories (PIPL art. 28)."""
    with transaction.atomic():
        audit_record(actor=actor, action="care.person.access", target_type="registry.person", target_id=person.pk,
                     fields=["benefits", "care_level"], request_id=request_id)


# --- work orders -------------------------------------------------------------------------

def work_order_notification_send(*, work_order_ids: Sequence[int]) -> int:
    """One inbox notification per grid worker for their new work orders (count and the
    earliest deadline), in the caller's transaction: a sweep step that rolls back tells
    nobody, and a resumed step finds its orders already announced (the dedup key is the
    run's first order). Returns how many notifications are new."""
    if not work_order_ids:
        return 0
    per_worker: dict[int, list[date]] = {}
    for assignee_id, due_on in WorkOrder.objects.filter(pk__in=list(work_order_ids), assignee__isnull=False) \
            .values_list("assignee_id", "due_on"):
        per_worker.setdefault(assignee_id, []).append(due_on)
    first = min(work_order_ids)
    written = 0
    for assignee_id, dues in per_worker.items():
        written += notification_enqueue(
            recipient_ids=[assignee_id], event_type="care.work_orders",
            variables={"count": len(dues), "due": min(dues).isoformat()},
            dedup_key=f"care:work-orders:{first}:{assignee_id}", object_type="care.WorkOrder",
            link=reverse("care:today"))
    return written


def work_order_close(*, work_order: WorkOrder, actor: Actor) -> WorkOrder:
    """The grid worker has done it."""
    with transaction.atomic():
        updated = WorkOrder.objects.filter(pk=work_order.pk, status=ItemStatus.OPEN).update(
            status=ItemStatus.DONE, done_at=timezone.now(), updated_at=timezone.now())
        if not updated:
            raise ValidationFailed("status", _("工单已办结"), code=CareErrorCode.BAD_TRANSITION)
        audit_record(actor=actor, action="care.work_order.close", target_type="care.workorder",
                     target_id=work_order.pk, fields=["status"])
    work_order.refresh_from_db()
    return work_order


# --- care events and visits --------------------------------------------------------------

MUST_VISIT_KINDS: frozenset[str] = frozenset({
    CareEventKind.HOSPITALISATION, CareEventKind.BEREAVEMENT, CareEventKind.DISASTER,
    CareEventKind.DOOR_SILENCE, CareEventKind.COMPLAINT,
})


def _grid_primary_workers(grid_ids: set[int]) -> dict[int, int]:
    from linli.care.services.sweep import grid_workers

    return grid_workers(grid_ids) if grid_ids else {}


def must_visit_notification_send(*, due_visit: DueVisit) -> int:
    """Tell the grid's A角 worker about a new must-visit (the event and the deadline, not
    the person), in the caller's transaction; once per due visit (the dedup key)."""
    worker = _grid_primary_workers({due_visit.grid_id} if due_visit.grid_id else set()).get(due_visit.grid_id or 0)
    if worker is None:
        return 0
    return notification_enqueue(
        recipient_ids=[worker], event_type="care.must_visit",
        variables={"reason": due_visit.reason, "due": due_visit.due_on.isoformat()},
        dedup_key=f"care:must-visit:{due_visit.pk}", object_type="care.DueVisit", object_id=due_visit.pk,
        link=reverse("care:today"))


def overdue_visits_notification_send(*, per_grid: Mapping[int, int], on: date) -> int:
    """One notification per grid worker with the number of their visits that became overdue
    on ``on`` (the sweep flags each visit once, so a visit is counted once); the dedup key
    is the day, so a re-run of the day sends nothing new."""
    workers = _grid_primary_workers(set(per_grid))
    counts: dict[int, int] = {}
    for grid_id, count in per_grid.items():
        if grid_id in workers:
            counts[workers[grid_id]] = counts.get(workers[grid_id], 0) + count
    return sum(notification_enqueue(
        recipient_ids=[worker], event_type="care.visits_overdue", variables={"count": count},
        dedup_key=f"care:visits-overdue:{on.isoformat()}:{worker}", object_type="care.DueVisit",
        link=reverse("care:today")) for worker, count in counts.items())


def care_event_record(*, person: Person, kind: str, occurred_on: date, actor: Actor,
                      note: str = "", source: str = "") -> CareEvent:
    """Record a life event; a 三必到五必访 kind creates a must-visit due within a day and
    tells the grid worker. With a ``source`` (``devices.alarm:12``, ``cases.case:…``) the
    same source is recorded once: a repeated call returns the first event."""
    if kind not in CareEventKind.values:
        raise ValidationFailed("kind", _("未知事件类型"))
    with transaction.atomic():
        if source:
            known = CareEvent.objects.filter(person=person, source=source).first()
            if known is not None:
                return known
        event = CareEvent.objects.create(person=person, kind=kind, occurred_on=occurred_on, note=note,
                                         source=source)
        if kind in MUST_VISIT_KINDS:
            due_on = max(occurred_on, timezone.localdate()) + timedelta(days=MUST_VISIT_DAYS)
            reason = _("三必到五必访：%(k)s（%(d)s）") % {"k": CareEventKind(kind).label, "d": occurred_on.isoformat()}
            due = DueVisit.objects.filter(person=person, reason_kind=VisitReason.TRIGGER,
                                          status=ItemStatus.OPEN).first()
            if due is None:
                due = DueVisit.objects.create(person=person, grid_id=person.grid_id, reason_kind=VisitReason.TRIGGER,
                                              reason=reason, due_on=due_on)
                must_visit_notification_send(due_visit=due)  # in this transaction (outbox)
            elif due.due_on > due_on:
                due.due_on, due.reason = due_on, reason
                due.save(update_fields=["due_on", "reason", "updated_at"])
        audit_record(actor=actor, action="care.event.record", target_type="registry.person",
                     target_id=person.pk, fields=["kind", "occurred_on"], reason=source[:200])
    return event


COMPLAINT_LOOKBACK_DAYS = 7


def complaints_record(*, on: date, actor: Actor) -> int:
    """12345 hotline cases of the last week whose caller's phone is a cared-for person's
    (a living elder with a colour, or a holder of a benefit) → a complaint care event, so a
    must-visit (三必到五必访) due the next day. Read through cases' selector (cases sits
    below care and knows nothing of it); each case is recorded once (the event's source), so
    the lookback may overlap the last run. Returns how many events are new."""
    from linli.care.models import ElderLevel
    from linli.cases.selectors import hotline_callers
    from linli.core import pii
    from linli.registry.text import PII_PHONE
    from linli.registry.validators import parse_phone

    start = timezone.make_aware(datetime.combine(on - timedelta(days=COMPLAINT_LOOKBACK_DAYS), datetime.min.time()))
    callers = hotline_callers(since=start, until=start + timedelta(days=COMPLAINT_LOOKBACK_DAYS + 1))
    by_index: dict[str, list[Any]] = {}
    for caller in callers:
        try:
            phone = parse_phone(caller.phone)
        except ValidationFailed:
            continue
        by_index.setdefault(pii.blind_index(phone, field=PII_PHONE), []).append(caller)
    if not by_index:
        return 0
    cared = Person.objects.filter(phone_bidx__in=sorted(by_index), is_deceased=False).filter(
        Exists(ElderLevel.objects.filter(person=OuterRef("pk")))
        | Exists(Benefit.objects.filter(person=OuterRef("pk"), state=BenefitState.ACTIVE)))
    recorded = 0
    for person in cared:
        for caller in by_index[person.phone_bidx]:
            source = f"cases.case:{caller.number}"
            if CareEvent.objects.filter(person=person, source=source).exists():
                continue
            care_event_record(person=person, kind=CareEventKind.COMPLAINT,
                              occurred_on=timezone.localdate(caller.opened_at), actor=actor,
                              note=_("12345诉求 %(n)s") % {"n": caller.number}, source=source)
            recorded += 1
    return recorded


def _visit_person(actor: Actor, person_id: int) -> Person:
    scope = scope_for(actor)  # type: ignore[arg-type]
    if not scope.can(Permission.EDIT_REGISTRY):
        raise PermissionDenied(_("无权记录走访"))
    person = Person.objects.filter(pk=person_id, grid_id__in=sorted(scope.grid_ids)).first()
    if person is None:
        raise NotFound()
    return person


def visit_record(
    *, actor: Actor, person_id: int, visited_at: datetime, findings: Mapping[str, Any],
    notes: str = "", needs: str = "", met: str = "", place: str = "",
    lon: float | None = None, lat: float | None = None, photos: Sequence[PhotoInput] = (),
) -> Visit:
    """Record a visit; closes the person's open due visits (planned and must-visit)."""
    person = _visit_person(actor, person_id)
    if visited_at > timezone.now() + timedelta(minutes=5):
        raise ValidationFailed("visited_at", _("走访时间不能晚于现在"))
    if (lon is None) != (lat is None):
        raise ValidationFailed("lon", _("经纬度须同时填写"))
    if len(photos) > MAX_VISIT_PHOTOS:
        raise ValidationFailed("photos", _("照片最多9张"))
    checked = [photo_check(p) for p in photos]
    with transaction.atomic():
        visit = Visit.objects.create(
            person=person, grid_id=person.grid_id, visitor_id=int(actor.pk or 0), visited_at=visited_at, place=place,
            lon=lon, lat=lat, met=met, findings=dict(findings), notes=notes, needs=needs)
        for photo in checked:
            row = VisitPhoto(visit=visit, sha256=photo.sha256, content_type=photo.content_type,
                             size=len(photo.content))
            name = f"care/{photo.sha256[:2]}/{photo.sha256}{photo.extension}"
            if row.file.storage.exists(name):
                row.file.name = name
            else:
                row.file.save(f"x{photo.extension}", ContentFile(photo.content), save=False)
            row.save()
        DueVisit.objects.filter(person=person, status=ItemStatus.OPEN, due_on__lte=visited_at.date() + timedelta(
            days=7)).update(status=ItemStatus.DONE, visit=visit, updated_at=timezone.now())
        audit_record(actor=actor, action="care.visit.record", target_type="registry.person", target_id=person.pk,
                     fields=["visit"])
    return visit


def visit_application_start(*, visit: Visit, actor: Actor, item_code: str, request_id: str = "") -> Application:
    """One click on a visit: a draft application (catalogue) of ``item_code`` for the visited
    person, prefilled from the registry, to be completed at the window's guided form. The
    catalogue decides who may file for a registered person (window staff: a grid worker
    may not) and refuses a withdrawn item. An open draft of the item for the person is
    reused, so a second click opens the same draft."""
    from linli.catalogue.choices import ApplicationStatus, Channel
    from linli.catalogue.selectors import item_get
    from linli.catalogue.services import application_prefill, application_save_draft

    person = _visit_person(actor, visit.person_id)
    item = item_get(code=item_code)
    version = item.current_version
    if version is None:
        raise NotFound(_("事项尚未发布"))
    existing = Application.objects.filter(applicant=person, item_version__item=item,
                                          status=ApplicationStatus.DRAFT).order_by("-pk").first()
    if existing is not None:
        return existing
    application = application_save_draft(
        actor=actor, version=version, applicant=person, channel=Channel.WINDOW, request_id=request_id,
        data=application_prefill(user=actor, version=version, person=person))
    with transaction.atomic():
        audit_record(actor=actor, action="care.visit.application", target_type="care.visit", target_id=visit.pk,
                     fields=["application"], reason=application.number, request_id=request_id)
    return application


def visit_case_open(*, visit: Visit, actor: Actor, category: str) -> int:
    """Open a case from a visit's needs (one click on the visit): a grid worker's patrol
    report at the person's building; returns the case id."""
    person = _visit_person(actor, visit.person_id)
    if visit.case_id:
        return visit.case_id
    building = person.building
    text = visit.needs or visit.notes
    if not text:
        raise ValidationFailed("needs", _("走访记录没有诉求内容"))
    case, _created = case_open(
        actor=actor, source="patrol", category=category, description=f"{person.name}：{text}"[:1000],
        lon=visit.lon if visit.lon is not None else (building.lon if building else None),
        lat=visit.lat if visit.lat is not None else (building.lat if building else None),
        address=building.address if building else "", source_key=f"care-visit-{visit.pk}")
    with transaction.atomic():
        Visit.objects.filter(pk=visit.pk).update(case_id=case.pk, updated_at=timezone.now())
        audit_record(actor=actor, action="care.visit.case", target_type="care.visit", target_id=visit.pk,
                     fields=["case_id"])
    return case.pk
