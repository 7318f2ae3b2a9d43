"""Security notices on the home page (the in-app inbox of ``accounts.SecurityNotice``)."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from linli.accounts.choices import NoticeKind
from linli.accounts.models import SecurityNotice, User
from linli.accounts.selectors import security_notices_for_user
from linli.accounts.services import security_notice_read
from linli.web.access import StaffRequest, staff_required


@dataclass(frozen=True)
class NoticeLine:
    id: int
    text: str


def _when(notice: SecurityNotice) -> dict[str, object]:
    until = timezone.localtime(notice.until).strftime("%m-%d %H:%M") if notice.until else "—"
    return {"time": timezone.localtime(notice.created_at).strftime("%m-%d %H:%M"), "until": until,
            "failures": notice.failures, "source": notice.source, "username": notice.username}


def notice_text(notice: SecurityNotice) -> str:
    if notice.kind == NoticeKind.YOUR_LOGIN_THROTTLED:
        return _("%(time)s 您的账号密码连续输错 %(failures)s 次(来源 %(source)s),该来源(或该设备)的登录暂停到 "
                 "%(until)s;您登录过的其他设备不受影响。如非本人操作,请修改密码并告知管理员。") % _when(notice)
    if notice.kind == NoticeKind.ACCOUNT_THROTTLED:
        return _("%(time)s 账号 %(username)s 从未登录过的设备累计输错密码 %(failures)s 次(最近来源 %(source)s),"
                 "新设备的登录暂停到 %(until)s。") % _when(notice)
    return _("%(time)s 地址 %(source)s 一小时内登录失败 %(failures)s 次,该地址的登录暂停到 %(until)s。") % _when(notice)


def notice_lines(user: User) -> list[NoticeLine]:
    return [NoticeLine(notice.pk, notice_text(notice)) for notice in security_notices_for_user(user=user)]


@staff_required
@require_POST
def notice_read(request: StaffRequest, notice_id: int) -> HttpResponse:
    security_notice_read(actor=request.user, notice_id=notice_id)
    return HttpResponseRedirect(reverse("web:home"))
