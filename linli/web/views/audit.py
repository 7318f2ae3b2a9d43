"""The audit trail page: recent entries, filters, and a check of the hash chain."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from linli.core.selectors import (
    ChainReport,
    audit_actions,
    audit_chain_verify,
    audit_entries_filtered,
    audit_entry_count,
)
from linli.web.access import StaffRequest, audit_viewer_required
from linli.web.audit_words import with_actor_names
from linli.web.forms import AuditFilterForm

PAGE_SIZE = 50


@audit_viewer_required
@never_cache
@require_http_methods(["GET", "POST"])
def audit(request: StaffRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET, actions=audit_actions())
    action = actor = ""
    if form.is_valid():
        action = form.cleaned_data["action"]
        actor = form.cleaned_data["actor"].strip()
    report: ChainReport | None = None
    if request.method == "POST":
        report = audit_chain_verify()
    paginator = Paginator(audit_entries_filtered(action=action, actor=actor), PAGE_SIZE)
    if not action and not actor:
        paginator.count = audit_entry_count()  # the whole trail: its size is known without counting
    page = paginator.get_page(request.GET.get("page"))
    page.object_list = with_actor_names(page.object_list)
    return render(request, "web/audit.html", {"form": form, "page": page, "report": report})
