"""Every write of the residents' portal: registration by house (code, match, queue, staff
decision), sign-in by code, reports and applications through cases and catalogue, notices.

Messages never say whether a person lives at an address: a code is "sent" whatever the
answers, and after a wrong code or an unmatched answer the resident hears only that the
community will verify. Failures are counted per phone and per room (workflow.FAILURE_LIMIT
in workflow.WINDOW).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.accounts.choices import Role
from linli.accounts.models import User
from linli.accounts.selectors import scope_for
from linli.care.selectors import benefit_list_for_persons
from linli.care.services import benefit_certification_record
from linli.cases.choices import CaseAction, CaseSource
from linli.cases.models import Case
from linli.cases.services import case_open, case_transition, photo_check
from linli.catalogue.choices import Channel as ApplicationChannel
from linli.catalogue.models import Application, ServiceItemVersion
from linli.catalogue.services import application_submit
from linli.catalogue.uploads import StoredUpload, UploadLike, upload_remove, upload_store
from linli.core import pii
from linli.core.actors import Actor, SystemActor
from linli.core.errors import NotFound, PermissionDenied, ValidationFailed
from linli.core.services import audit_record
from linli.geo.choices import AreaLevel
from linli.geo.models import Area
from linli.notify.choices import Channel
from linli.notify.services import (
    contact_address_set,
    notification_enqueue,
    notification_enqueue_to_address,
)
from linli.portal import workflow
from linli.portal.choices import (
    CertificationMethod,
    CertificationStatus,
    CodePurpose,
    CommitteeBody,
    CommitteeRole,
    NoticeKind,
    ProfileStatus,
    RegistrationStatus,
)
from linli.portal.errors import BadCode, Throttled
from linli.portal.face import face_verify
from linli.portal.hall_selectors import nearest_for_resident
from linli.portal.models import (
    PII_PORTAL_PHONE,
    Attempt,
    CommitteeMember,
    Convention,
    Invitation,
    LivingCertification,
    Notice,
    NoticeAttachment,
    NoticeRead,
    OneTimeCode,
    Registration,
    ResidentProfile,
)
from linli.portal.selectors import certification_due_get_for_user, certification_policy_codes
from linli.registry.models import Person
from linli.registry.selectors import id_suffix_index, resident_match, room_of_community
from linli.registry.text import PII_ID_NUMBER
from linli.registry.validators import parse_phone

logger = logging.getLogger("linli.portal")
REGISTRATION_TARGET = "portal.Registration"
PROFILE_TARGET = "portal.ResidentProfile"
NOTICE_TARGET = "portal.Notice"
STAFF_DECIDERS = frozenset({Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.DISTRICT_ADMIN})


# --- phones, codes and the throttle -----------------------------------------------------------


def _phone(raw: str) -> str:
    phone = parse_phone(raw or "")
    if not (len(phone) == 11 and phone.startswith("1")):
        raise ValidationFailed("phone", _("请填写11位手机号码"))
    return phone


def phone_index(phone: str) -> str:
    return pii.blind_index(phone, field=PII_PORTAL_PHONE)


def _code_key() -> bytes:
    return hashlib.sha256(f"linli.portal.code:{settings.SECRET_KEY}".encode()).digest()


def _count(key: str, now: datetime) -> int:
    return Attempt.objects.filter(key=key, at__gt=now - workflow.WINDOW).count()


def _refuse_if_throttled(keys: Sequence[str], now: datetime, limit: int = workflow.FAILURE_LIMIT) -> None:
    if any(workflow.throttled(_count(k, now), limit) for k in keys):
        raise Throttled(_("尝试次数过多,请10分钟后再试。"))


def _fail(keys: Sequence[str], now: datetime) -> None:
    """Count a failure; written in its own transaction so that the refusal that follows
    (which rolls the caller back) does not take the count with it."""
    with transaction.atomic():
        Attempt.objects.bulk_create([Attempt(key=k, at=now) for k in keys])


def _failure_keys(*, phone_bidx: str, room_id: int | None) -> list[str]:
    keys = [f"fail:phone:{phone_bidx[:24]}"]
    if room_id is not None:
        keys.append(f"fail:room:{room_id}")
    return keys


def _send_code(*, phone: str, phone_bidx: str, purpose: str, now: datetime,
               registration: Registration | None = None) -> OneTimeCode:
    """Write the code (hashed) and its SMS in the caller's transaction."""
    code = workflow.new_code()
    otp = OneTimeCode.objects.create(
        purpose=purpose, phone_bidx=phone_bidx, registration=registration, expires_at=now + workflow.CODE_TTL,
        code_hash=workflow.code_hash(code, salt=phone_bidx, key=_code_key()))
    Attempt.objects.create(key=f"send:phone:{phone_bidx[:24]}", at=now)
    notification_enqueue_to_address(
        channel=Channel.SMS, address=phone, event_type="portal.code", variables={"code": code},
        dedup_key=f"portal:code:{otp.pk}", object_type="portal.OneTimeCode", object_id=otp.pk, now=now)
    if settings.LINLI_ENV == "development":
        # The demo's way to read the code without a phone (also on /portal/dev/codes/).
        logger.info("portal code %s for %s", code, pii.mask_phone(phone))
    return otp


def _check_code(*, phone_bidx: str, purpose: str, code: str, now: datetime,
                registration: Registration | None = None) -> OneTimeCode:
    rows = OneTimeCode.objects.select_for_update().filter(
        phone_bidx=phone_bidx, purpose=purpose, used_at__isnull=True, expires_at__gt=now)
    if registration is not None:
        rows = rows.filter(registration=registration)
    otp = rows.order_by("-id").first()
    digest = workflow.code_hash(code.strip(), salt=phone_bidx, key=_code_key())
    if otp is None or not secrets.compare_digest(otp.code_hash, digest):
        raise BadCode(_("验证码错误或已过期"))
    otp.used_at = now
    otp.save(update_fields=["used_at", "updated_at"])
    return otp


# --- registration by house ----------------------------------------------------------------


def registration_start(
    *, community_id: int, room_id: int, name: str, phone: str, id_suffix: str = "", now: datetime | None = None,
) -> Registration:
    """Check the answers' form, refuse when throttled, write the registration and send the
    code. The same answer is given whether or not anybody matching lives there."""
    now = now or timezone.now()
    name = (name or "").strip()
    if not workflow.valid_name(name):
        raise ValidationFailed("name", _("请填写姓名"))
    phone = _phone(phone)
    id_suffix = (id_suffix or "").strip().upper()
    if not workflow.valid_id_suffix(id_suffix):
        raise ValidationFailed("id_suffix", _("请填写身份证号后4位"))
    community = Area.objects.filter(pk=community_id, level=AreaLevel.COMMUNITY).first()
    if community is None:
        raise ValidationFailed("community", _("请选择社区"))
    try:
        room = room_of_community(community_id=community.pk, room_id=room_id)
    except NotFound:
        raise ValidationFailed("room", _("请选择房屋")) from None
    bidx = phone_index(phone)
    _refuse_if_throttled(_failure_keys(phone_bidx=bidx, room_id=room.pk), now)
    _refuse_if_throttled([f"send:phone:{bidx[:24]}"], now, workflow.SEND_LIMIT)
    with transaction.atomic():
        registration = Registration.objects.create(
            community=community, room=room, name=name, phone_enc=pii.encrypt(phone, field=PII_PORTAL_PHONE),
            phone_bidx=bidx, phone_masked=pii.mask_phone(phone),
            id_suffix_s4_bidx=id_suffix_index(id_suffix))
        _send_code(phone=phone, phone_bidx=bidx, purpose=CodePurpose.REGISTER, now=now, registration=registration)
        audit_record(actor=_system("portal:registration"), action="portal.registration.start",
                     target_type=REGISTRATION_TARGET, target_id=registration.pk, fields=["room", "name", "phone"])
    return registration


def _system(name: str) -> Actor:
    return SystemActor(name)


def _resident_user(*, phone: str, bidx: str, name: str) -> tuple[User, ResidentProfile | None]:
    profile = ResidentProfile.objects.select_related("user").filter(phone_bidx=bidx).first()
    if profile is not None:
        return profile.user, profile
    user = User.objects.create_user(username=f"resident-{secrets.token_hex(6)}", password=None,
                                    role=Role.RESIDENT, display_name=name[:50])
    contact_address_set(user=user, channel=Channel.SMS, address=phone)
    return user, None


@dataclass(frozen=True)
class Verified:
    registration: Registration
    user: User
    matched: bool


def registration_verify(*, registration_id: int, code: str, now: datetime | None = None) -> Verified:
    """Accept the code; bind the account to the matching person and household at once, or
    queue the registration for the community. A wrong code or no match counts a failure."""
    now = now or timezone.now()
    registration = Registration.objects.filter(pk=registration_id, status=RegistrationStatus.CODE_SENT).first()
    if registration is None:
        raise BadCode(_("验证码错误或已过期"))
    keys = _failure_keys(phone_bidx=registration.phone_bidx, room_id=registration.room_id)
    _refuse_if_throttled(keys, now)
    try:
        with transaction.atomic():
            _check_code(phone_bidx=registration.phone_bidx, purpose=CodePurpose.REGISTER, code=code, now=now,
                        registration=registration)
    except BadCode:
        _fail(keys, now)
        raise
    phone = pii.decrypt(registration.phone_enc, field=PII_PORTAL_PHONE)
    person = _match(registration, phone)
    if person is None:
        _fail(keys, now)  # probing who lives where costs attempts too
    with transaction.atomic():
        locked = Registration.objects.select_for_update().get(pk=registration.pk)
        user, profile = _resident_user(phone=phone, bidx=locked.phone_bidx, name=locked.name)
        action = "match" if person is not None else "queue"
        locked.status = workflow.next_status(locked.status, action) or locked.status
        locked.user, locked.person = user, person
        locked.save(update_fields=["status", "user", "person", "updated_at"])
        _profile_save(profile=profile, user=user, registration=locked, person=person)
        audit_record(actor=user, action=f"portal.registration.{action}", target_type=REGISTRATION_TARGET,
                     target_id=locked.pk, fields=["status", "person"])
    return Verified(locked, user, person is not None)


def _match(registration: Registration, phone: str) -> Person | None:
    return resident_match(room_id=registration.room_id, name=registration.name, phone=phone,
                          id_suffix_bidx=registration.id_suffix_s4_bidx)


def _profile_save(*, profile: ResidentProfile | None, user: User, registration: Registration,
                  person: Person | None) -> ResidentProfile:
    values: dict[str, Any] = {
        "community": registration.community, "room": registration.room,
        "person": person, "household": person.household if person is not None else None,
        "status": ProfileStatus.BOUND if person is not None else ProfileStatus.PENDING,
    }
    if profile is not None and profile.status == ProfileStatus.BOUND and person is None:
        return profile  # an already bound account keeps its binding while a new request waits
    if profile is None:
        return ResidentProfile.objects.create(
            user=user, phone_enc=registration.phone_enc, phone_bidx=registration.phone_bidx,
            phone_masked=registration.phone_masked, **values)
    for name, value in values.items():
        setattr(profile, name, value)
    profile.save()
    return profile


def registration_decide(
    *, actor: User, registration_id: int, approve: bool, person_id: int | None = None, note: str = "",
    request_id: str = "",
) -> Registration:
    """Community staff approve (binding the account to the person they pick among the
    room's residents) or reject a queued registration of their own community."""
    if actor.role not in STAFF_DECIDERS:
        raise PermissionDenied(_("无权核验居民注册"))
    scope = scope_for(actor)
    with transaction.atomic():
        # ``of=self``: PostgreSQL refuses to lock the nullable side of the joins.
        registration = Registration.objects.select_for_update(of=("self",)).select_related(
            "room", "user").filter(pk=registration_id, community_id__in=sorted(scope.area_ids)).first()
        if registration is None:
            raise NotFound(_("注册申请不存在"))
        action = "approve" if approve else "reject"
        status = workflow.next_status(registration.status, action)
        if status is None:
            raise ValidationFailed("status", _("该注册申请已处理"))
        person = None
        if approve:
            person = Person.objects.select_related("household").filter(
                pk=person_id or 0, room_id=registration.room_id, is_deceased=False).first()
            if person is None:
                raise ValidationFailed("person", _("请选择该房屋中的住户"))
        registration.status, registration.person = status, person
        registration.decided_by, registration.decided_at, registration.note = actor, timezone.now(), note.strip()[:200]
        registration.save()
        if registration.user is not None:
            profile = ResidentProfile.objects.filter(user=registration.user).first()
            if profile is not None and profile.status != ProfileStatus.BOUND:
                if person is not None:
                    _profile_save(profile=profile, user=registration.user, registration=registration, person=person)
                else:
                    profile.status = ProfileStatus.REJECTED
                    profile.save(update_fields=["status", "updated_at"])
            notification_enqueue(
                recipient_ids=[registration.user.pk], event_type="portal.registration",
                variables={"status": str(registration.get_status_display())},
                dedup_key=f"portal:registration:{registration.pk}:{action}", object_type=REGISTRATION_TARGET,
                object_id=registration.pk, link="/portal/")
        audit_record(actor=actor, action=f"portal.registration.{action}", target_type=REGISTRATION_TARGET,
                     target_id=registration.pk, fields=["status", "person"], request_id=request_id)
    return registration


# --- sign in by code ----------------------------------------------------------------------


def sign_in_start(*, phone: str, now: datetime | None = None) -> None:
    """Send a sign-in code when an account has this phone; say nothing either way."""
    now = now or timezone.now()
    phone = _phone(phone)
    bidx = phone_index(phone)
    _refuse_if_throttled(_failure_keys(phone_bidx=bidx, room_id=None), now)
    _refuse_if_throttled([f"send:phone:{bidx[:24]}"], now, workflow.SEND_LIMIT)
    with transaction.atomic():
        if ResidentProfile.objects.filter(phone_bidx=bidx, user__is_active=True).exists():
            _send_code(phone=phone, phone_bidx=bidx, purpose=CodePurpose.SIGN_IN, now=now)
        else:
            Attempt.objects.create(key=f"send:phone:{bidx[:24]}", at=now)


def sign_in_verify(*, phone: str, code: str, now: datetime | None = None) -> User:
    now = now or timezone.now()
    phone = _phone(phone)
    bidx = phone_index(phone)
    keys = _failure_keys(phone_bidx=bidx, room_id=None)
    _refuse_if_throttled(keys, now)
    try:
        with transaction.atomic():
            _check_code(phone_bidx=bidx, purpose=CodePurpose.SIGN_IN, code=code, now=now)
            profile = ResidentProfile.objects.select_related("user").filter(
                phone_bidx=bidx, user__is_active=True).first()
            if profile is None:
                raise BadCode(_("验证码错误或已过期"))
            audit_record(actor=profile.user, action="portal.sign_in", target_type=PROFILE_TARGET,
                         target_id=profile.pk)
    except BadCode:
        _fail(keys, now)
        raise
    return profile.user


# --- household heads invite members ---------------------------------------------------------


def _is_head(profile: ResidentProfile) -> bool:
    return profile.household is not None and profile.person_id is not None and \
        profile.household.head_id == profile.person_id


def member_invite(*, user: User, person_id: int, phone: str, now: datetime | None = None) -> Invitation:
    """The head of a household sends a member of that household a code; another household's
    person, or the head's own, is not found."""
    now = now or timezone.now()
    profile = _bound(user)
    household_id, own_id = profile.household_id, profile.person_id
    if not _is_head(profile) or household_id is None or own_id is None:
        raise PermissionDenied(_("只有户主可以邀请家庭成员"))
    person = Person.objects.filter(pk=person_id, household_id=household_id, is_deceased=False).exclude(
        pk=own_id).first()
    if person is None:
        raise NotFound(_("家庭成员不存在"))
    if ResidentProfile.objects.filter(person=person, status=ProfileStatus.BOUND).exists():
        raise ValidationFailed("person", _("该成员已经注册"))
    phone = _phone(phone)
    bidx = phone_index(phone)
    _refuse_if_throttled([f"send:phone:{bidx[:24]}"], now, workflow.SEND_LIMIT)
    with transaction.atomic():
        invitation = Invitation.objects.create(
            household_id=household_id, person=person, invited_by=user,
            phone_enc=pii.encrypt(phone, field=PII_PORTAL_PHONE), phone_bidx=bidx, phone_masked=pii.mask_phone(phone))
        _send_code(phone=phone, phone_bidx=bidx, purpose=CodePurpose.INVITE, now=now)
        audit_record(actor=user, action="portal.invitation.send", target_type="portal.Invitation",
                     target_id=invitation.pk, fields=["person", "phone"])
    return invitation


def invitation_accept(*, phone: str, code: str, now: datetime | None = None) -> User:
    """The invited member confirms the code: their account (new, or their unbound one) is
    bound to the person and household the head chose."""
    now = now or timezone.now()
    phone = _phone(phone)
    bidx = phone_index(phone)
    keys = _failure_keys(phone_bidx=bidx, room_id=None)
    _refuse_if_throttled(keys, now)
    try:
        with transaction.atomic():
            _check_code(phone_bidx=bidx, purpose=CodePurpose.INVITE, code=code, now=now)
            invitation = (Invitation.objects.select_for_update(of=("self",))
                          .select_related("person__household", "person__room").filter(phone_bidx=bidx, accepted_at__isnull=True).order_by("-id").first())
            if invitation is None:
                raise BadCode(_("验证码错误或已过期"))
            person = invitation.person
            user, profile = _resident_user(phone=phone, bidx=bidx, name=person.name)
            if profile is not None and profile.status == ProfileStatus.BOUND:
                raise BadCode(_("验证码错误或已过期"))
            community = Area.objects.get(pk=invitation.invited_by.resident_profile.community_id)
            values = {"status": ProfileStatus.BOUND, "community": community, "room": person.room,
                      "person": person, "household": person.household}
            if profile is None:
                ResidentProfile.objects.create(user=user, phone_enc=invitation.phone_enc, phone_bidx=bidx,
                                               phone_masked=invitation.phone_masked, **values)
            else:
                ResidentProfile.objects.filter(pk=profile.pk).update(**values, updated_at=now)
            invitation.accepted_at = now
            invitation.save(update_fields=["accepted_at", "updated_at"])
            audit_record(actor=user, action="portal.invitation.accept", target_type="portal.Invitation",
                         target_id=invitation.pk, fields=["person", "household"])
    except BadCode:
        _fail(keys, now)
        raise
    return user


# --- reports (随手拍) and applications ------------------------------------------------------


def _bound(user: User) -> ResidentProfile:
    profile = ResidentProfile.objects.filter(user=user, status=ProfileStatus.BOUND).first()
    if profile is None:
        raise PermissionDenied(_("请先完成居民身份核验"))
    return profile


def report_submit(
    *, user: User, category: int | str, description: str, lon: float | None = None, lat: float | None = None,
    address: str = "", photos: Sequence[Any] = (), request_id: str = "",
) -> Case:
    """A resident's report becomes a case of the loop (source: resident), reported by them."""
    profile = _bound(user)
    if lon is None and not address.strip() and profile.room is not None:
        # No position given: the resident's own building (its point finds the grid).
        building = profile.room.building
        lon, lat, address = building.lon, building.lat, building.address
    elif lon is not None and lat is not None and not address.strip():
        # A place picked on the map without words: the nearest building of the community names it.
        found = nearest_for_resident(user=user, lat=lat, lon=lon)
        address = found.address if found is not None else ""
    case, _created = case_open(
        actor=user, source=CaseSource.RESIDENT, category=category, description=description, lon=lon, lat=lat,
        address=address, reporter_name=user.display_name, photos=photos, request_id=request_id)
    return case


def report_rate(*, user: User, case_id: int, satisfaction: int, note: str = "", request_id: str = "") -> Case:
    """Rate one's own closed report (any other case is not found)."""
    if not Case.objects.filter(pk=case_id, reporter_id=user.pk, source=CaseSource.RESIDENT).exists():
        raise NotFound(_("事件不存在"))
    return case_transition(case=case_id, action=CaseAction.EVALUATE, actor=user, note=note,
                           data={"satisfaction": satisfaction}, request_id=request_id)


def application_file(
    *, user: User, version: ServiceItemVersion, data: dict[str, Any], files: dict[str, list[UploadLike]] | None = None,
    idempotency_key: str = "", request_id: str = "",
) -> tuple[Application, bool]:
    """An application for the resident themselves: their bound person is the applicant, so
    instant items are decided at once against the registry."""
    profile = _bound(user)
    person = Person.objects.select_related("grid").filter(pk=profile.person_id or 0).first()
    return application_submit(
        actor=user, version=version, applicant=person, bound_person=person, data=data, files=files,
        channel=ApplicationChannel.ONLINE, idempotency_key=idempotency_key, request_id=request_id,
        community=profile.community, applicant_name=person.name if person else user.display_name)


# --- notices -------------------------------------------------------------------------------


def notice_publish(
    *, actor: User, area_id: int, kind: str, title: str, body: str, period: str = "",
    files: Sequence[UploadLike] = (), request_id: str = "",
) -> Notice:
    """Staff publish to an area of their own (a community, or their street); its residents
    are notified. Attachments are checked by content first and removed if anything fails."""
    if actor.role not in STAFF_DECIDERS:
        raise PermissionDenied(_("无权发布通知"))
    scope = scope_for(actor)
    area = Area.objects.filter(pk=area_id, pk__in=sorted(scope.area_ids),
                               level__in=[AreaLevel.STREET, AreaLevel.COMMUNITY]).first()
    if area is None:
        raise ValidationFailed("area", _("请选择发布范围"))
    if kind not in NoticeKind.values:
        raise ValidationFailed("kind", _("类别无效"))
    title, body, period = title.strip(), body.strip(), period.strip()
    if not title or len(title) > 120:
        raise ValidationFailed("title", _("请填写标题(120字以内)"))
    if not body:
        raise ValidationFailed("body", _("请填写正文"))
    if kind != NoticeKind.NOTICE and not period:
        raise ValidationFailed("period", _("三务公开须填写期间"))
    stored: list[StoredUpload] = []
    try:
        stored.extend(upload_store(upload, field="files") for upload in files)
        with transaction.atomic():
            notice = Notice.objects.create(area=area, kind=kind, title=title, body=body, period=period[:20],
                                           published_by=actor, published_at=timezone.now())
            NoticeAttachment.objects.bulk_create([
                NoticeAttachment(notice=notice, file=s.name, original_name=s.original_name,
                                 content_type=s.content_type, size=s.size, sha256=s.sha256) for s in stored])
            recipients = ResidentProfile.objects.filter(
                community__path__startswith=area.path, user__is_active=True).values_list("user_id", flat=True)
            notification_enqueue(recipient_ids=list(recipients), event_type="portal.notice",
                                 variables={"title": title[:40]}, dedup_key=f"portal:notice:{notice.pk}",
                                 object_type=NOTICE_TARGET, object_id=notice.pk,
                                 link=f"/portal/notices/{notice.pk}/", channels=())
            audit_record(actor=actor, action="portal.notice.publish", target_type=NOTICE_TARGET,
                         target_id=notice.pk, fields=["title", "body", "kind", "area"], request_id=request_id)
    except BaseException:
        upload_remove(stored)
        raise
    return notice


def notice_mark_read(*, user: User, notice: Notice) -> bool:
    """Count a resident's first opening of a notice."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                NoticeRead.objects.create(notice=notice, user=user, at=timezone.now())
        except IntegrityError:
            return False
        Notice.objects.filter(pk=notice.pk).update(read_count=F("read_count") + 1)
    return True


# --- yearly living certification (生存认证) ---------------------------------------------------
#
# Who certifies: the holders of an active pension-type benefit in care
# (``selectors.certification_policy_codes``), for this calendar year. A resident may start
# the certification for themselves or for a member of their own household (the member's face
# is photographed; the service compares it with the member's ID). The outcome is recorded on
# each of those benefits' history (``care.services.benefit_certification_record``).


def _certification_of(person_id: int, year: int) -> LivingCertification:
    row, _created = LivingCertification.objects.get_or_create(person_id=person_id, year=year)
    return row


def _record_on_benefits(row: LivingCertification, *, actor: Actor) -> None:
    """In the caller's transaction: the certified year on the holder's pension-type benefits."""
    benefit_ids = list(benefit_list_for_persons(
        person_ids=[row.person_id], policy_codes=certification_policy_codes(), current_only=True)
        .values_list("pk", flat=True))
    benefit_certification_record(benefit_ids=benefit_ids, year=row.year, method=row.method, actor=actor,
                                 reference=f"portal.certification:{row.pk}")


def certification_face(*, user: User, photo: Any, person_id: int | None = None,
                       now: datetime | None = None) -> LivingCertification:
    """The selfie goes to the face-verification service once; linli keeps the outcome and
    the provider's request id. After FACE_ATTEMPTS_MAX failures the community visits
    instead. An unreachable service changes nothing (try again, or ask for a visit)."""
    now = now or timezone.now()
    _bound(user)
    day = timezone.localdate(now)
    due = certification_due_get_for_user(user=user, person_id=person_id, on=day)
    person = Person.objects.filter(pk=due.person_id).first()
    if person is None or not person.id_number_enc:
        raise ValidationFailed("person", _("登记信息中没有身份证号,请申请上门核实"))
    current = _certification_of(person.pk, day.year)
    if current.status != CertificationStatus.OPEN:
        return current
    checked = photo_check(photo, field_name="photo")
    outcome = face_verify(name=person.name, id_number=pii.decrypt(person.id_number_enc, field=PII_ID_NUMBER),
                          image=checked.content)
    if outcome.passed is None:
        logger.warning("face verification unavailable: %s", outcome.error)
        raise ValidationFailed("photo", _("人脸核身服务暂时不可用,请稍后再试或申请上门核实"))
    with transaction.atomic():
        row = LivingCertification.objects.select_for_update().get(pk=current.pk)
        if row.status != CertificationStatus.OPEN:
            return row
        row.face_attempts += 1
        row.provider_request_id = outcome.request_id[:64]
        row.status = workflow.certification_after_face(passed=outcome.passed, attempts=row.face_attempts)
        if row.status == CertificationStatus.CERTIFIED:
            row.method, row.certified_at = CertificationMethod.FACE, now
        row.save()
        if row.status == CertificationStatus.CERTIFIED:
            _record_on_benefits(row, actor=user)
        audit_record(actor=user, action="portal.certification.face", target_type="portal.LivingCertification",
                     target_id=row.pk, fields=["status", "face_attempts"])
    return row


def certification_visit_request(*, user: User, person_id: int | None = None) -> LivingCertification:
    """The resident asks for the home visit instead (no phone camera, no ID on record …)."""
    _bound(user)
    day = timezone.localdate()
    due = certification_due_get_for_user(user=user, person_id=person_id, on=day)
    with transaction.atomic():
        row = _certification_of(due.person_id, day.year)
        if row.status == CertificationStatus.OPEN:
            row.status = CertificationStatus.VISIT
            row.save(update_fields=["status", "updated_at"])
            audit_record(actor=user, action="portal.certification.visit_request",
                         target_type="portal.LivingCertification", target_id=row.pk, fields=["status"])
    return row


def certification_visit_confirm(*, actor: User, certification_id: int, request_id: str = "") -> LivingCertification:
    """Staff (or the grid worker) of the person's area confirm the home visit."""
    scope = scope_for(actor)
    with transaction.atomic():
        row = LivingCertification.objects.select_for_update(of=("self",)).filter(
            pk=certification_id, status=CertificationStatus.VISIT,
            person__grid_id__in=sorted(scope.grid_ids)).first()
        if row is None:
            raise NotFound(_("认证记录不存在"))
        row.status, row.method = CertificationStatus.CERTIFIED, CertificationMethod.VISIT
        row.certified_at, row.confirmed_by = timezone.now(), actor
        row.save()
        _record_on_benefits(row, actor=actor)
        audit_record(actor=actor, action="portal.certification.visit_confirm",
                     target_type="portal.LivingCertification", target_id=row.pk, fields=["status", "method"],
                     request_id=request_id)
    return row


def household_benefits_access_record(*, user: User, request_id: str = "") -> None:
    """Benefits say something about income and disability (PIPL art. 28): opening the
    household's list is logged like the staff's care section."""
    profile = _bound(user)
    with transaction.atomic():
        audit_record(actor=user, action="portal.household.benefits", target_type="registry.household",
                     target_id=profile.household_id or "", fields=["benefits"], request_id=request_id)


# --- 两委 members and the residents' convention (居民公约) -----------------------------------

COMMITTEE_TARGET = "portal.CommitteeMember"
CONVENTION_TARGET = "portal.Convention"


def _affairs_community(actor: User, community_id: int) -> Area:
    """A community of the staff member's own scope (another community: not found)."""
    if actor.role not in STAFF_DECIDERS:
        raise PermissionDenied(_("无权维护社区公开信息"))
    area = Area.objects.filter(pk=community_id, level=AreaLevel.COMMUNITY,
                               pk__in=sorted(scope_for(actor).area_ids)).first()
    if area is None:
        raise NotFound(_("社区不存在"))
    return area


@dataclass(frozen=True)
class MemberInput:
    """What staff type about a 两委 member."""

    body: str
    role: str
    name: str
    duties: str = ""
    duty_phone: str = ""
    term_start: date | None = None
    term_end: date | None = None
    position: int = 0


def _member_values(data: MemberInput) -> dict[str, Any]:
    if data.body not in CommitteeBody.values:
        raise ValidationFailed("body", _("请选择组织"))
    if data.role not in CommitteeRole.values:
        raise ValidationFailed("role", _("请选择职务"))
    name = data.name.strip()
    if not workflow.valid_name(name):
        raise ValidationFailed("name", _("请填写姓名"))
    problem = workflow.office_phone_problem(data.duty_phone)
    if problem == "mobile":
        raise ValidationFailed("duty_phone", _("请填写社区办公室的值班电话,不要填写个人手机号码"))
    if problem is not None:
        raise ValidationFailed("duty_phone", _("电话格式不正确(例如 0571-87001234)"))
    if data.term_start is None:
        raise ValidationFailed("term_start", _("请填写任期开始日期"))
    if not workflow.term_valid(data.term_start, data.term_end):
        raise ValidationFailed("term_end", _("任期结束日期须晚于开始日期"))
    return {"body": data.body, "role": data.role, "name": name, "duties": data.duties.strip()[:120],
            "duty_phone": data.duty_phone.strip().replace(" ", "")[:30], "term_start": data.term_start,
            "term_end": data.term_end, "position": max(0, min(data.position, 999))}


def _photo_store(photo: UploadLike | None) -> StoredUpload | None:
    if photo is None:
        return None
    return upload_store(photo, field="photo", accept=["image"])


def committee_member_save(
    *, actor: User, community_id: int, data: MemberInput, member_id: int | None = None,
    photo: UploadLike | None = None, request_id: str = "",
) -> CommitteeMember:
    """Add a 两委 member of a community of one's own scope, or change one; a photo is
    checked by content (images only) and kept beside the catalogue's uploads."""
    community = _affairs_community(actor, community_id)
    values = _member_values(data)
    stored = _photo_store(photo)
    try:
        with transaction.atomic():
            found = (CommitteeMember(community=community) if member_id is None else
                     CommitteeMember.objects.select_for_update().filter(pk=member_id, community=community).first())
            if found is None:
                raise NotFound(_("成员不存在"))
            member = found
            for key, value in values.items():
                setattr(member, key, value)
            if stored is not None:
                member.photo_file, member.photo_type = stored.name, stored.content_type
            member.updated_by = actor
            member.save()
            audit_record(actor=actor, action="portal.committee.save", target_type=COMMITTEE_TARGET,
                         target_id=member.pk, fields=sorted(values) + (["photo"] if stored else []),
                         request_id=request_id)
    except BaseException:
        if stored is not None and stored.created:
            upload_remove([stored])
        raise
    return member


def committee_member_end(*, actor: User, member_id: int, request_id: str = "") -> CommitteeMember:
    """A member leaves office: no longer shown to residents, kept for the record."""
    with transaction.atomic():
        member = CommitteeMember.objects.select_for_update().filter(pk=member_id).first()
        if member is None:
            raise NotFound(_("成员不存在"))
        _affairs_community(actor, member.community_id)
        member.is_active = False
        member.updated_by = actor
        member.save(update_fields=["is_active", "updated_by", "updated_at"])
        audit_record(actor=actor, action="portal.committee.end", target_type=COMMITTEE_TARGET,
                     target_id=member.pk, fields=["is_active"], request_id=request_id)
    return member


def convention_publish(
    *, actor: User, community_id: int, title: str, body: str, effective_on: date | None,
    adopted_note: str = "", request_id: str = "",
) -> Convention:
    """Publish a new version of a community's residents' convention (the older versions
    stay, the newest one that has taken effect is in force)."""
    community = _affairs_community(actor, community_id)
    title, body = title.strip(), body.strip()
    if not title or len(title) > 120:
        raise ValidationFailed("title", _("请填写标题(120字以内)"))
    if not body:
        raise ValidationFailed("body", _("请填写正文"))
    if effective_on is None:
        raise ValidationFailed("effective_on", _("请填写生效日期"))
    with transaction.atomic():
        # Lock the community's versions so that two publications do not take the same number.
        last = (Convention.objects.select_for_update().filter(community=community).order_by("-version")
                .values_list("version", flat=True).first())
        row = Convention.objects.create(community=community, version=(last or 0) + 1, title=title, body=body,
                                        effective_on=effective_on, adopted_note=adopted_note.strip()[:200],
                                        published_by=actor)
        recipients = ResidentProfile.objects.filter(community=community, user__is_active=True).values_list(
            "user_id", flat=True)
        notification_enqueue(recipient_ids=list(recipients), event_type="portal.notice",
                             variables={"title": title[:40]}, dedup_key=f"portal:convention:{row.pk}",
                             object_type=CONVENTION_TARGET, object_id=row.pk, link="/portal/affairs/", channels=())
        audit_record(actor=actor, action="portal.convention.publish", target_type=CONVENTION_TARGET,
                     target_id=row.pk, fields=["title", "body", "effective_on"], request_id=request_id)
    return row


def affairs_seed_community(
    *, actor: Actor, community: Area, members: Sequence[MemberInput],
    conventions: Sequence[tuple[str, str, date, str]],
) -> bool:
    """Demo and first-install data: a community's 两委 and convention versions (title, body,
    effective day, note), written only when it has neither. Returns whether it wrote."""
    with transaction.atomic():
        if (CommitteeMember.objects.filter(community=community).exists()
                or Convention.objects.filter(community=community).exists()):
            return False
        CommitteeMember.objects.bulk_create([CommitteeMember(community=community, **_member_values(m))
                                             for m in members])
        Convention.objects.bulk_create([
            Convention(community=community, version=number, title=title, body=body, effective_on=effective_on,
                       adopted_note=note)
            for number, (title, body, effective_on, note) in enumerate(conventions, start=1)])
        audit_record(actor=actor, action="portal.affairs.seed", target_type="geo.Area", target_id=community.pk,
                     fields=["committee", "convention"])
    return True
