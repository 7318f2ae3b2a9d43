"""Reads of the residents' portal, each scoped to the signed-in resident: their own
profile, household, reports, applications and the notices of the areas above their home.
Anything else is :class:`NotFound`, exactly like what does not exist."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.accounts.choices import Role
from linli.accounts.models import User
from linli.accounts.selectors import scope_for
from linli.care.choices import BenefitState
from linli.care.selectors import benefit_list_for_persons
from linli.cases.choices import ACTION_LABELS, EVENT_OPEN, CaseSource
from linli.cases.models import Case, CaseEvent, CasePhoto
from linli.catalogue.models import Application
from linli.catalogue.selectors import application_get_for_user, application_list_for_user
from linli.core import pii
from linli.core.errors import NotFound
from linli.geo.choices import AreaLevel
from linli.geo.models import Area
from linli.portal import workflow
from linli.portal.choices import CertificationStatus, NoticeKind, ProfileStatus, RegistrationStatus
from linli.portal.models import (
    CommitteeMember,
    Convention,
    LivingCertification,
    Notice,
    NoticeAttachment,
    Registration,
    ResidentProfile,
)
from linli.registry.models import Building, Room, Unit
from linli.registry.selectors import (
    building_unit_list,
    community_buildings,
    household_members,
    room_of_community,
    unit_room_list,
)

LIST_LIMIT = 50


def is_resident(user: object) -> bool:
    return isinstance(user, User) and user.is_active and user.role == Role.RESIDENT


def profile_for_user(*, user: User) -> ResidentProfile | None:
    return (ResidentProfile.objects.select_related("community", "room__unit", "room__building", "household")
            .filter(user=user).first())


# --- pickers (public: places only) ----------------------------------------------------------


def community_list() -> QuerySet[Area]:
    return Area.objects.filter(level=AreaLevel.COMMUNITY).order_by("code")


def community_get(*, community_id: int) -> Area:
    area = Area.objects.filter(pk=community_id, level=AreaLevel.COMMUNITY).first()
    if area is None:
        raise NotFound()
    return area


def buildings_of(*, community_id: int) -> list[Building]:
    return list(community_buildings(community_id=community_id))


def building_of(*, community_id: int, building_id: int) -> Building:
    building = community_buildings(community_id=community_id).filter(pk=building_id).first()
    if building is None:
        raise NotFound()
    return building


def units_of(*, building_id: int) -> list[Unit]:
    return building_unit_list(building_id=building_id)


def rooms_of(*, unit_id: int) -> list[Room]:
    return unit_room_list(unit_id=unit_id)


def room_in_community(*, community_id: int, room_id: int) -> Room:
    return room_of_community(community_id=community_id, room_id=room_id)


def community_of_building(*, building: Building) -> Area | None:
    """The community above a building's grid (for the building's printed QR page)."""
    ids = [int(p) for p in building.grid.path.strip("/").split("/") if p]
    return Area.objects.filter(pk__in=ids, level=AreaLevel.COMMUNITY).first()


def building_get(*, building_id: int) -> Building:
    building = Building.objects.select_related("grid").filter(pk=building_id).first()
    if building is None:
        raise NotFound()
    return building


# --- my household ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    pk: int
    name: str
    relation: str
    phone: str
    is_me: bool
    registered: bool


def household_for_user(*, user: User) -> list[Member]:
    """The members of the resident's own household, masked (names too, but their own)."""
    profile = profile_for_user(user=user)
    if profile is None or profile.status != ProfileStatus.BOUND or profile.household_id is None:
        return []
    members = household_members(household_id=profile.household_id)
    registered = set(ResidentProfile.objects.filter(person__in=members, status=ProfileStatus.BOUND)
                     .values_list("person_id", flat=True))
    return [Member(pk=p.pk, name=p.name if p.pk == profile.person_id else pii.mask_name(p.name),
                   relation=p.get_relation_display(), phone=p.phone_masked, is_me=p.pk == profile.person_id,
                   registered=p.pk in registered)
            for p in members]


def is_household_head(*, user: User) -> bool:
    profile = profile_for_user(user=user)
    if profile is None or profile.status != ProfileStatus.BOUND or profile.household is None:
        return False
    return profile.household.head_id == profile.person_id


# --- my reports ------------------------------------------------------------------------------


def reports_for_user(*, user: User) -> QuerySet[Case]:
    return (Case.objects.filter(reporter_id=user.pk, source=CaseSource.RESIDENT)
            .select_related("category").order_by("-created_at", "-id"))


def report_get_for_user(*, user: User, case_id: int) -> Case:
    case = reports_for_user(user=user).filter(pk=case_id).first()
    if case is None:
        raise NotFound(_("事件不存在"))
    return case


@dataclass(frozen=True)
class PublicStep:
    label: str
    at: datetime


def report_public_timeline(*, case: Case) -> list[PublicStep]:
    """What happened and when; never who, never the staff's notes."""
    events = CaseEvent.objects.filter(case=case).order_by("at", "id").values_list("action", "at")
    labels: dict[str, Any] = {**ACTION_LABELS, EVENT_OPEN: _("上报")}
    return [PublicStep(str(labels.get(action, action)), at) for action, at in events if workflow.public_step(action)]


def report_photos(*, case: Case) -> list[CasePhoto]:
    """The photos the resident sent with the report (not the handlers' photos)."""
    return list(CasePhoto.objects.filter(case=case, uploaded_by_id=case.reporter_id).order_by("id"))


def report_photo_for_user(*, user: User, photo_id: int) -> CasePhoto:
    photo = CasePhoto.objects.filter(pk=photo_id, case__reporter_id=user.pk, case__source=CaseSource.RESIDENT,
                                     uploaded_by_id=user.pk).first()
    if photo is None:
        raise NotFound()
    return photo


# --- my applications ------------------------------------------------------------------------


def applications_for_user(*, user: User) -> QuerySet[Application]:
    return application_list_for_user(user=user)


def application_for_user(*, user: User, application_id: int) -> Application:
    return application_get_for_user(user=user, application_id=application_id)


# --- notices -----------------------------------------------------------------------------


def _ancestor_ids(area: Area) -> list[int]:
    return [int(p) for p in area.path.strip("/").split("/") if p]


def notices_for_user(*, user: User, kind: str = "", query: str = "", period: str = "",
                     profile: ResidentProfile | None = None) -> QuerySet[Notice]:
    """Notices of the resident's community and of the areas above it (``profile``: the
    user's own, when the caller has it already)."""
    if profile is None or profile.user_id != user.pk:
        profile = profile_for_user(user=user)
    if profile is None:
        return Notice.objects.none()
    rows = Notice.objects.filter(area_id__in=_ancestor_ids(profile.community))
    if kind in NoticeKind.values:
        rows = rows.filter(kind=kind)
    if query.strip():
        text = query.strip()[:50]
        rows = rows.filter(Q(title__icontains=text) | Q(body__icontains=text))
    if period.strip():
        rows = rows.filter(period=period.strip()[:20])
    return rows.order_by("-published_at", "-id")


def notice_get_for_user(*, user: User, notice_id: int) -> Notice:
    notice = notices_for_user(user=user).filter(pk=notice_id).first()
    if notice is None:
        raise NotFound()
    return notice


def notice_attachment_for_user(*, user: User, attachment_id: int) -> NoticeAttachment:
    attachment = NoticeAttachment.objects.select_related("notice").filter(pk=attachment_id).first()
    if attachment is None:
        raise NotFound()
    notice_get_for_user(user=user, notice_id=attachment.notice_id)
    return attachment


def notice_periods_for_user(*, user: User, kind: str) -> list[str]:
    return sorted(set(notices_for_user(user=user, kind=kind).exclude(period="").values_list("period", flat=True)),
                  reverse=True)


# --- staff: verification queue and notices ------------------------------------------------------


def registration_queue_for_user(*, user: User) -> QuerySet[Registration]:
    scope = scope_for(user)
    return (Registration.objects.filter(community_id__in=sorted(scope.area_ids), status=RegistrationStatus.QUEUED)
            .select_related("community", "room__unit", "room__building").order_by("created_at", "id"))


def registration_get_for_staff(*, user: User, registration_id: int) -> Registration:
    registration = registration_queue_for_user(user=user).filter(pk=registration_id).first()
    if registration is None:
        raise NotFound()
    return registration


def staff_notice_list_for_user(*, user: User) -> QuerySet[Notice]:
    scope = scope_for(user)
    return Notice.objects.filter(area_id__in=sorted(scope.area_ids)).select_related("area").order_by("-published_at")


def staff_publish_areas(*, user: User) -> list[Area]:
    scope = scope_for(user)
    return list(Area.objects.filter(pk__in=sorted(scope.area_ids),
                                    level__in=[AreaLevel.STREET, AreaLevel.COMMUNITY]).order_by("code"))


# --- development: the codes sent --------------------------------------------------------------


def dev_codes(*, limit: int = 10) -> list[dict[str, str]]:
    """The last codes the console SMS channel wrote (development only; the view checks)."""
    path = Path(getattr(settings, "LINLI_NOTIFY", {}).get("LINLI_NOTIFY_CONSOLE_FILE")
                or Path(settings.DATA_DIR) / "notify-outbox.jsonl")
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()[-500:]
    out: list[dict[str, str]] = []
    for line in reversed(lines):
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if row.get("channel") == "sms" and row.get("title") in {"验证码", "Verification code"}:
            out.append({"to": pii.mask_phone(str(row.get("to", ""))), "body": str(row.get("body", "")),
                            "at": str(row.get("at", ""))})
        if len(out) >= limit:
            break
    return out


# --- living certification ------------------------------------------------------------------


def certification_for_user(*, user: User, year: int) -> LivingCertification | None:
    profile = profile_for_user(user=user)
    if profile is None or profile.person_id is None:
        return None
    return LivingCertification.objects.filter(person_id=profile.person_id, year=year).first()


def certification_visits_for_user(*, user: User) -> QuerySet[LivingCertification]:
    """Home visits to confirm in the staff member's grids."""
    scope = scope_for(user)
    return (LivingCertification.objects.filter(status=CertificationStatus.VISIT,
                                               person__grid_id__in=sorted(scope.grid_ids))
            .select_related("person", "person__building", "person__room").order_by("created_at", "id"))


# --- 两委 members and the residents' convention (public affairs) ---------------------------


def _resident_community_id(user: User) -> int | None:
    profile = profile_for_user(user=user)
    return profile.community_id if profile is not None else None


def committee_for_user(*, user: User) -> list[CommitteeMember]:
    """The serving 两委 members of the resident's own community (party committee first)."""
    community_id = _resident_community_id(user)
    if community_id is None:
        return []
    return list(CommitteeMember.objects.filter(community_id=community_id, is_active=True)
                .order_by("body", "position", "id"))


@dataclass(frozen=True)
class ConventionView:
    """The convention in force, the next version if one is announced, and the older ones."""

    current: Convention | None
    upcoming: Convention | None
    history: list[Convention]


def _convention_view(community_id: int, on: date) -> ConventionView:
    versions = list(Convention.objects.filter(community_id=community_id).order_by("-version"))
    number = workflow.convention_in_force([(c.version, c.effective_on) for c in versions], on)
    current = next((c for c in versions if c.version == number), None)
    upcoming = next((c for c in reversed(versions) if c.effective_on > on and (number is None or c.version > number)),
                    None)
    history = [c for c in versions if number is not None and c.version < number]
    return ConventionView(current, upcoming, history)


def convention_for_user(*, user: User, on: date | None = None) -> ConventionView:
    community_id = _resident_community_id(user)
    if community_id is None:
        return ConventionView(None, None, [])
    return _convention_view(community_id, on or timezone.localdate())


def convention_get_for_user(*, user: User, convention_id: int) -> Convention:
    """One version of the resident's own community's convention (another community's: 404)."""
    community_id = _resident_community_id(user)
    row = Convention.objects.filter(pk=convention_id, community_id=community_id or 0).first()
    if row is None:
        raise NotFound()
    return row


def committee_photo_for_user(*, user: User, member_id: int) -> CommitteeMember:
    """A member's photo: residents of that community, or staff whose scope holds it."""
    member = CommitteeMember.objects.filter(pk=member_id).exclude(photo_file="").first()
    if member is None:
        raise NotFound()
    if is_resident(user):
        if member.community_id != _resident_community_id(user) or not member.is_active:
            raise NotFound()
    elif member.community_id not in scope_for(user).area_ids:
        raise NotFound()
    return member


def staff_affairs_communities(*, user: User) -> list[Area]:
    """The communities whose 两委 and convention the staff member maintains."""
    scope = scope_for(user)
    return list(Area.objects.filter(pk__in=sorted(scope.area_ids), level=AreaLevel.COMMUNITY).order_by("code"))


def staff_community_get(*, user: User, community_id: int) -> Area:
    area = Area.objects.filter(pk=community_id, level=AreaLevel.COMMUNITY,
                               pk__in=sorted(scope_for(user).area_ids)).first()
    if area is None:
        raise NotFound()
    return area


def staff_committee_list(*, user: User, community_id: int) -> list[CommitteeMember]:
    staff_community_get(user=user, community_id=community_id)
    return list(CommitteeMember.objects.filter(community_id=community_id).order_by("-is_active", "body", "position",
                                                                                     "id"))


def staff_member_get(*, user: User, member_id: int) -> CommitteeMember:
    member = CommitteeMember.objects.select_related("community").filter(
        pk=member_id, community_id__in=sorted(scope_for(user).area_ids)).first()
    if member is None:
        raise NotFound()
    return member


def staff_conventions(*, user: User, community_id: int, on: date | None = None) -> ConventionView:
    staff_community_get(user=user, community_id=community_id)
    return _convention_view(community_id, on or timezone.localdate())


# --- benefits of my household and their living certifications -------------------------------


def certification_policy_codes() -> list[str]:
    codes = getattr(settings, "LINLI_PORTAL_CERTIFICATION_POLICIES", None)
    return list(codes if codes is not None else workflow.CERTIFICATION_POLICY_CODES)


@dataclass(frozen=True)
class HouseholdBenefit:
    """One benefit of a member of the resident's household; the member's name masked but
    the resident's own, the amount shown for their own benefits only."""

    member: str
    is_me: bool
    policy: str
    state: str
    state_label: str
    amount: Decimal | None
    starts_on: date
    ends_on: date | None
    needs_certification: bool
    # Pension-type only: this year's deadline while not certified, else next year's opening.
    certification_due_on: date | None
    next_certification_on: date | None


def _bound_household(user: User) -> ResidentProfile | None:
    profile = profile_for_user(user=user)
    if profile is None or profile.status != ProfileStatus.BOUND or profile.household_id is None:
        return None
    return profile


def household_benefits_for_user(*, user: User, on: date | None = None) -> list[HouseholdBenefit]:
    """The current benefits (active or suspended) of the living members of the resident's
    own household, with the next certification for the pension-type ones."""
    profile = _bound_household(user)
    if profile is None or profile.household_id is None:
        return []
    day = on or timezone.localdate()
    members = household_members(household_id=profile.household_id)
    codes = set(certification_policy_codes())
    certified = _certified_persons([p.pk for p in members], day.year)
    rows = []
    for benefit in benefit_list_for_persons(person_ids=[p.pk for p in members], current_only=True):
        me = benefit.person_id == profile.person_id
        needs = benefit.policy.code in codes and benefit.state == BenefitState.ACTIVE
        rows.append(HouseholdBenefit(
            member=benefit.person.name if me else pii.mask_name(benefit.person.name), is_me=me,
            policy=benefit.policy.name, state=benefit.state, state_label=benefit.get_state_display(),
            amount=benefit.amount if me else None, starts_on=benefit.starts_on, ends_on=benefit.ends_on,
            needs_certification=needs,
            certification_due_on=(workflow.certification_due_on(day.year)
                                  if needs and benefit.person_id not in certified else None),
            next_certification_on=(workflow.certification_next_on(year=day.year, certified=True)
                                   if needs and benefit.person_id in certified else None)))
    return rows


def _certified_persons(person_ids: list[int], year: int) -> set[int]:
    return set(LivingCertification.objects.filter(person_id__in=person_ids, year=year,
                                                  status=CertificationStatus.CERTIFIED)
               .values_list("person_id", flat=True))


@dataclass(frozen=True)
class DueCertification:
    """A member of the household who must certify this year, and where that stands."""

    person_id: int
    name: str
    is_me: bool
    year: int
    policies: list[str]
    benefit_ids: list[int]
    status: str
    status_label: str
    face_attempts: int
    due_on: date
    next_on: date


def certifications_due_for_user(*, user: User, on: date | None = None) -> list[DueCertification]:
    """The household's members who hold an active pension-type benefit (care), each with
    this year's certification (not started counts as open)."""
    profile = _bound_household(user)
    if profile is None or profile.household_id is None:
        return []
    year = (on or timezone.localdate()).year
    members = {p.pk: p for p in household_members(household_id=profile.household_id)}
    held: dict[int, list[tuple[int, str]]] = {}
    for benefit in benefit_list_for_persons(person_ids=list(members), policy_codes=certification_policy_codes(),
                                            current_only=True).filter(state=BenefitState.ACTIVE):
        held.setdefault(benefit.person_id, []).append((benefit.pk, benefit.policy.name))
    rows = {c.person_id: c for c in LivingCertification.objects.filter(person_id__in=list(held), year=year)}
    out = []
    for person_id, benefits in held.items():
        person, row = members[person_id], rows.get(person_id)
        status = row.status if row is not None else CertificationStatus.OPEN
        me = person_id == profile.person_id
        out.append(DueCertification(
            person_id=person_id, name=person.name if me else pii.mask_name(person.name), is_me=me, year=year,
            policies=sorted({name for _pk, name in benefits}), benefit_ids=[pk for pk, _name in benefits],
            status=status, status_label=str(CertificationStatus(status).label),
            face_attempts=row.face_attempts if row is not None else 0,
            due_on=workflow.certification_due_on(year),
            next_on=workflow.certification_next_on(year=year, certified=status == CertificationStatus.CERTIFIED)))
    return sorted(out, key=lambda d: (not d.is_me, d.person_id))


def certification_due_get_for_user(*, user: User, person_id: int | None = None,
                                   on: date | None = None) -> DueCertification:
    """The due certification of one member of the resident's household (default: the
    resident); anyone else, or a member with no pension-type benefit, is not found."""
    profile = _bound_household(user)
    wanted = person_id if person_id is not None else (profile.person_id if profile else None)
    for due in certifications_due_for_user(user=user, on=on):
        if due.person_id == wanted:
            return due
    raise NotFound(_("没有需要认证的待遇"))
