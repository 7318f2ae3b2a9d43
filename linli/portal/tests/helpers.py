"""Shared steps of the portal tests: a bound resident without going through the pages, and
the staff's side of a resident's report (register, dispatch, handle, verify, close)."""

from __future__ import annotations

import secrets
from datetime import date
from decimal import Decimal

from linli.accounts.choices import Role
from linli.accounts.models import User
from linli.care.choices import BenefitSource
from linli.care.models import Benefit, Policy
from linli.care.services import benefit_grant, policies_seed
from linli.cases.choices import CaseStatus
from linli.cases.models import Case
from linli.cases.services import case_transition
from linli.core import pii
from linli.core.actors import SystemActor
from linli.portal.choices import ProfileStatus
from linli.portal.models import PII_PORTAL_PHONE, ResidentProfile
from linli.portal.services import phone_index
from linli.registry.models import Person

# 1x1 PNG (content-checked uploads look at the first bytes only)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def bound_resident(person: Person, *, community_id: int, phone: str = "") -> User:
    """A resident account bound to ``person`` (what a matched registration leaves)."""
    phone = phone or f"135{secrets.randbelow(10 ** 8):08d}"
    user = User.objects.create_user(username=f"resident-{person.pk}", password=None, role=Role.RESIDENT,
                                    display_name=person.name)
    ResidentProfile.objects.create(
        user=user, phone_enc=pii.encrypt(phone, field=PII_PORTAL_PHONE), phone_bidx=phone_index(phone),
        phone_masked=pii.mask_phone(phone), status=ProfileStatus.BOUND, community_id=community_id,
        room=person.room, person=person, household=person.household)
    return user


def grant_pension(person: Person, code: str = "gaoling_80", *, amount: str = "50") -> Benefit:
    """Seed care's policies (once) and let ``person`` receive one of them, active."""
    if not Policy.objects.exists():
        policies_seed()
    return benefit_grant(person=person, policy=Policy.objects.get(code=code), starts_on=date(2024, 1, 1),
                         source=BenefitSource.MANUAL, actor=SystemActor("test:seed"), amount=Decimal(amount))


def close_report(case: Case, *, community: User, worker: User) -> Case:
    """The staff's side: register (the rule dispatches 邻里纠纷 to the grid worker), accept,
    report back, verify (community), close."""
    case = case_transition(case=case.pk, action="register", actor=community)
    if case.status == CaseStatus.REGISTERED:
        case = case_transition(case=case.pk, action="dispatch", actor=community, data={"assignee": worker.pk})
    case = case_transition(case=case.pk, action="accept", actor=worker)
    case = case_transition(case=case.pk, action="report_back", actor=worker, note="已调解")
    case = case_transition(case=case.pk, action="verify_pass", actor=community)
    return case_transition(case=case.pk, action="close", actor=community)
