"""Staff pages of the notify app: the inbox (bell), the district's wording with a preview,
and the dead letters an operator resends. Thin: each calls one selector or service."""

from __future__ import annotations

import json
from datetime import time

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from linli.accounts.access import StaffRequest, request_id_of, staff_view
from linli.core.errors import ApplicationError
from linli.notify import selectors, services
from linli.notify.choices import OUTBOUND, Channel, DeliveryState, Language
from linli.notify.events import EVENT_TYPES
from linli.notify.models import Notification

staff_required = staff_view()
KINDS = (("case", gettext_lazy("事件")), ("application", gettext_lazy("办件")),
         ("fusion", gettext_lazy("数据核实")), ("accounts", gettext_lazy("账号安全")),
         ("broadcast", gettext_lazy("紧急通知")))


@staff_required
@require_GET
def inbox(request: StaffRequest) -> HttpResponse:
    filters = selectors.InboxFilters(unread=request.GET.get("unread") == "1",
                                     event_prefix=request.GET.get("kind", "") if request.GET.get("kind", "") in
                                     dict(KINDS) else "")
    page = Paginator(selectors.inbox_for_user(user=request.user, filters=filters), 30).get_page(request.GET.get("page"))
    return render(request, "notify/inbox.html", {
        "page": page, "filters": filters, "kinds": KINDS,
    })


@staff_required
@require_POST
def read(request: StaffRequest, notification_id: int) -> HttpResponseBase:
    """Mark read and go to the object (the row's link), or back to the inbox."""
    services.notification_read(user=request.user, notification_id=notification_id)
    link = Notification.objects.filter(pk=notification_id, recipient=request.user).values_list("link", flat=True).first()
    if request.POST.get("open") and link and url_has_allowed_host_and_scheme(link, allowed_hosts=None):
        return redirect(link)
    return redirect("notify:inbox")


@staff_required
@require_POST
def read_all(request: StaffRequest) -> HttpResponseBase:
    count = services.notification_read_all(user=request.user)
    messages.success(request, _("已将%(count)s条通知标为已读。") % {"count": count})
    return redirect("notify:inbox")


def _operator(request: StaffRequest) -> None:
    if not selectors.may_operate_outbox(request.user):
        raise PermissionDenied


def _event_choices() -> list[tuple[str, str]]:
    """Event types by their default title in the page's language (the code is for machines)."""
    english = (get_language() or "").startswith("en")
    return sorted(((code, (event.en if english else event.zh)[0]) for code, event in EVENT_TYPES.items()),
                  key=lambda pair: pair[1])


@staff_required
@require_http_methods(["GET", "POST"])
def templates(request: StaffRequest) -> HttpResponse:
    """The district administrator's wording per event type and language, with a preview."""
    _operator(request)
    event_type = request.GET.get("event") or request.POST.get("event_type") or "case.dispatched"
    if event_type not in EVENT_TYPES:
        event_type = "case.dispatched"
    language = request.GET.get("language") or request.POST.get("language") or Language.ZH_HANS
    if language not in Language.values:
        language = Language.ZH_HANS
    title, body, code = services.wording(event_type)[language]
    error, preview = None, None
    if request.method == "POST":
        title, body = request.POST.get("title", ""), request.POST.get("body", "")
        code = request.POST.get("sms_template_code", "")
        try:
            if request.POST.get("action") == "preview":
                preview = services.template_preview(event_type=event_type, title=title, body=body)
            else:
                services.template_save(actor=request.user, event_type=event_type, language=language, title=title,
                                       body=body, sms_template_code=code)
                messages.success(request, _("模板已保存。"))
                return redirect(f"{request.path}?event={event_type}&language={language}")
        except ApplicationError as exc:
            error = exc
    return render(request, "notify/templates.html", {
        "events": _event_choices(), "event": EVENT_TYPES[event_type], "language": language,
        "language_choices": Language.choices, "title": title, "body": body, "code": code, "error": error,
        "preview": preview, "request_id": request_id_of(request),
    })


@staff_required
@require_GET
def outbox(request: StaffRequest) -> HttpResponse:
    _operator(request)
    state = request.GET.get("state", DeliveryState.DEAD)
    if state not in DeliveryState.values:
        state = DeliveryState.DEAD
    rows = selectors.deliveries_for_operator(user=request.user, state=state).order_by("-updated_at")[:200]
    figures = selectors.outbox_figures()
    return render(request, "notify/outbox.html", {
        "rows": rows, "state": state,
        "states": [(value, label, figures.get(value, 0)) for value, label in DeliveryState.choices],
    })


@staff_required
@require_POST
def resend(request: StaffRequest, delivery_id: int) -> HttpResponseBase:
    _operator(request)
    try:
        services.delivery_resend(actor=request.user, delivery_id=delivery_id, reason=request.POST.get("reason", ""))
        messages.success(request, _("已重新加入发送队列。"))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("notify:outbox")


def _time_or_none(raw: str) -> time | None:
    try:
        return time.fromisoformat(raw) if raw.strip() else None
    except ValueError:
        return None


@staff_required
@require_http_methods(["GET", "POST"])
def preferences(request: StaffRequest) -> HttpResponse:
    """The user's own choices: outside channels switched off, quiet hours (emergencies and
    level-1 alarms still come through), language of the wording."""
    pref = selectors.preference_of(user=request.user)
    error: ApplicationError | None = None
    if request.method == "POST":
        disabled = [c for c in OUTBOUND if c not in request.POST.getlist("channel")]
        try:
            services.preference_save(user=request.user, disabled_channels=disabled,
                                     quiet_start=_time_or_none(request.POST.get("quiet_start", "")),
                                     quiet_end=_time_or_none(request.POST.get("quiet_end", "")),
                                     language=request.POST.get("language", Language.ZH_HANS))
            messages.success(request, _("通知设置已保存。"))
            return redirect("notify:preferences")
        except ApplicationError as exc:
            error = exc
    disabled_now = set(pref.disabled_channels) if pref else set()
    return render(request, "notify/preferences.html", {
        "channels": [(c, Channel(c).label, c not in disabled_now) for c in OUTBOUND],
        "quiet_start": pref.quiet_start if pref else None, "quiet_end": pref.quiet_end if pref else None,
        "language": pref.language if pref else Language.ZH_HANS, "language_choices": Language.choices,
        "error": error,
    })


# Web Push for this browser: the preferences page asks for the key, subscribes through the
# staff service worker and posts the subscription here (same-origin, CSRF header).

@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """The staff service worker: only ``push`` and ``notificationclick``. Served from
    /notifications/ so its default scope is /notifications/ — it never overlaps the field
    app's /field/ worker, and a push reaches it whatever page is open."""
    response = render(request, "notify/sw.js", {}, content_type="application/javascript")
    response["Cache-Control"] = "no-cache"
    return response


def _push_error(field: str, message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": {"field": field, "message": message}}, status=status)


@staff_required
@require_GET
def push_key(request: StaffRequest) -> JsonResponse:
    key = selectors.push_public_key()
    if key is None:
        return _push_error("LINLI_NOTIFY_WEBPUSH", _("本系统未开通浏览器推送（LINLI_NOTIFY_WEBPUSH 不是 vapid 或缺少密钥）。"),
                           status=404)
    return JsonResponse({"public_key": key})


@staff_required
@require_http_methods(["POST", "DELETE"])
def push_subscription(request: StaffRequest) -> JsonResponse:
    """POST: save this browser's ``PushSubscription.toJSON()``; DELETE ``{"endpoint": …}``:
    forget it — the caller's own only."""
    try:
        data = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        return _push_error("body", "not JSON")
    if request.method == "DELETE":
        endpoint = data.get("endpoint") if isinstance(data, dict) else None
        if not isinstance(endpoint, str) or not endpoint:
            return _push_error("endpoint", "endpoint is required")
        deleted = services.push_subscription_delete(user=request.user, endpoint=endpoint)
        return JsonResponse({"deleted": deleted}, status=200 if deleted else 404)
    try:
        services.push_subscription_subscribe(user=request.user, data=data)
    except ApplicationError as exc:
        return _push_error(str(exc.field or ""), str(exc.message))
    return JsonResponse({"saved": True}, status=201)
