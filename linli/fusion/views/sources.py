"""Source definitions: read-only list and detail, and the district admin's JSON edit."""

from __future__ import annotations

import json

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from linli.core.errors import ApplicationError
from linli.fusion import selectors, services
from linli.fusion.forms import SourceDefinitionForm
from linli.fusion.mapping import definition_to_dict
from linli.fusion.pipeline import definition_of
from linli.fusion.views.access import IMPORT_ROLES, SOURCE_EDIT_ROLES, StaffRequest, staff_view
from linli.fusion.views.context import field_label, fusion_context


@staff_view(IMPORT_ROLES)
@require_GET
def source_list(request: StaffRequest) -> HttpResponse:
    sources = list(selectors.source_list_for_user(user=request.user))
    rows = [(source, definition_of(source)) for source in sources]
    return render(request, "fusion/sources.html", {**fusion_context(request.user, "sources"), "rows": rows})


@staff_view(IMPORT_ROLES)
@require_GET
def source_detail(request: StaffRequest, code: str) -> HttpResponse:
    source = selectors.source_get_for_user(user=request.user, code=code)
    definition = definition_of(source)
    columns = [(column, cmap.field, field_label(cmap.field), list(cmap.transforms),
                definition.authoritative.get(cmap.field), column in definition.key_columns)
               for column, cmap in definition.columns.items()]
    authoritative = sorted(((field_label(f), p) for f, p in definition.authoritative.items()),
                           key=lambda item: -item[1])
    return render(request, "fusion/source.html", {
        **fusion_context(request.user, "sources"), "source": source, "definition": definition,
        "columns": columns, "authoritative": authoritative,
    })


@staff_view(SOURCE_EDIT_ROLES)
@require_http_methods(["GET", "POST"])
def source_edit(request: StaffRequest, code: str) -> HttpResponse:
    """Edit the stored definition; the version-controlled file stays the reference for new installs."""
    source = selectors.source_get_for_user(user=request.user, code=code)
    if request.method == "POST":
        form = SourceDefinitionForm(request.POST, code=source.code)
        if form.is_valid():
            try:
                services.source_save(actor=request.user, definition=form.cleaned_data["definition"],
                                     name=source.name)
            except ApplicationError as error:
                form.add_error("definition", error.message)
            else:
                messages.success(request, _("来源定义已保存。"))
                return redirect("fusion:source", code=source.code)
    else:
        initial = source.definition or definition_to_dict(definition_of(source))
        form = SourceDefinitionForm(initial={"definition": json.dumps(initial, ensure_ascii=False, indent=2)},
                                    code=source.code)
    return render(request, "fusion/source_edit.html", {
        **fusion_context(request.user, "sources"), "source": source, "form": form,
    }, status=400 if form.errors else 200)
