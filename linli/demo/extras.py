"""The parts of the demo beyond the street: service catalogue and windows, the import
sources, a year of cases and a year of the service halls (applications and appointments;
the six departmental exports come from ``linli_demo_exports``; five of them are then
imported by :func:`demo_imports_if_missing`).
Each part is seeded only when it is missing, so ``linli demo`` on an existing data folder
adds what a newer linli brings and nothing twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from linli.catalogue.data.items import SEED_ITEMS
from linli.catalogue.models import ServiceItem, ServiceWindow
from linli.catalogue.seed_items import catalogue_seed
from linli.catalogue.services import window_create
from linli.core.actors import Actor
from linli.demo.care_seed import seed_care_if_missing
from linli.demo.cases_history import DEFAULT_CASES_PER_MONTH, seed_case_history
from linli.demo.devices_seed import seed_devices
from linli.demo.generator import DEFAULT_SEED
from linli.demo.hall_history import APPLICATIONS_PER_DAY, APPOINTMENTS_PER_WINDOW_DAY
from linli.demo.hall_seed import seed_hall_history
from linli.fusion.models import ImportJob, Source
from linli.fusion.services import import_run, sources_sync
from linli.geo.choices import AreaLevel
from linli.geo.models import Area

Progress = Callable[[str], None]

# Community service halls: mornings and afternoons on weekdays, Saturday morning.
WINDOW_HOURS = {
    **{str(day): [["08:30", "11:30"], ["13:30", "17:00"]] for day in range(1, 6)},
    "6": [["09:00", "11:30"]],
}


@dataclass
class ExtrasReport:
    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def demo_extras_seed_if_missing(
    *, actor: Actor, cases_per_month: int | None = None, progress: Progress | None = None,
) -> ExtrasReport:
    """Seed every demo part that is missing; returns what was done and what was kept."""
    say = progress or (lambda _message: None)
    report = ExtrasReport()
    if not Area.objects.filter(level=AreaLevel.COMMUNITY).exists():
        report.skipped.append("no street: run the street seed first")
        return report
    known = set(ServiceItem.objects.values_list("code", flat=True))
    missing = [item for item in SEED_ITEMS if item.code not in known]
    if not missing:
        report.skipped.append("catalogue")
    else:
        # A first run seeds all; a data folder from an older linli gets the items added since.
        say("seeding the service catalogue …")
        seeded = catalogue_seed(actor=actor, items=missing)
        report.done.append(f"catalogue: {len(seeded.created)} service items")
    if ServiceWindow.objects.exists():
        report.skipped.append("windows")
    else:
        items = list(ServiceItem.objects.filter(active=True))
        for community in Area.objects.filter(level=AreaLevel.COMMUNITY).order_by("code"):
            window_create(
                actor=actor, code=f"W{community.code[-3:]}01", name=f"{community.name}综合受理窗口",
                community=community, opening_hours=WINDOW_HOURS, slot_minutes=30,
                capacity_per_slot=3, items=items,
            )
        report.done.append("service windows")
    if Source.objects.exists():
        report.skipped.append("import sources")
    else:
        sources_sync(actor=actor)
        report.done.append("import sources (linli/fusion/sources)")
    history = seed_case_history(
        actor=actor, seed=DEFAULT_SEED, progress=say,
        cases_per_month=cases_per_month or DEFAULT_CASES_PER_MONTH,
    )
    if history.skipped:
        report.skipped.append("case history")
    else:
        report.done.append(f"case history: {history.cases:,} cases, {history.supervised:,} open ones supervised")
    # A smaller street (tests) gets a proportionally quieter hall.
    scale = (cases_per_month or DEFAULT_CASES_PER_MONTH) / DEFAULT_CASES_PER_MONTH
    halls = seed_hall_history(actor=actor, seed=DEFAULT_SEED, progress=say,
                              applications_per_day=max(APPLICATIONS_PER_DAY * scale, 1.0),
                              bookings_per_window_day=APPOINTMENTS_PER_WINDOW_DAY * min(scale, 1.0))
    if halls.skipped:
        report.skipped.append("service hall history")
    else:
        report.done.append(f"service halls: {halls.applications:,} applications, "
                           f"{halls.appointments:,} appointments")
    care = seed_care_if_missing(actor=actor, seed=DEFAULT_SEED)
    if care.skipped:
        report.skipped.append("care")
    else:
        report.done.append(f"care: {care.benefits:,} benefits, {care.visits:,} visits")
    devices = seed_devices(seed=DEFAULT_SEED)
    if devices.skipped:
        report.skipped.append("devices")
    else:
        report.done.append(f"devices: {devices.devices} devices, {devices.alarms} alarms")
    report.timings.update({"cases": history.seconds, "halls": sum(halls.timings.values())})
    return report


def exports_dir() -> Path:
    return Path(settings.DATA_DIR) / "exports"


# Imported at setup so that the review queue, the grid workers' verification tasks and every
# person's provenance have something to show; 计生 (the largest, an XLSX of four sheets) is
# left for trying the import wizard.
DEMO_IMPORTED_SOURCES = ("minzheng", "canlian", "zongzhi", "chengguan", "liudong")


def demo_imports_if_missing(*, actor: Actor, directory: Path | None = None,
                            progress: Progress | None = None) -> ExtrasReport:
    """Import the demo's departmental exports (all but 计生) under the street, once: nothing is
    done when any import job exists, whoever ran it."""
    say = progress or (lambda _message: None)
    report = ExtrasReport()
    folder = directory or exports_dir()
    street = Area.objects.filter(level=AreaLevel.STREET).order_by("code").first()
    if ImportJob.objects.exists():
        report.skipped.append("departmental imports")
        return report
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        report.skipped.append(f"departmental imports: no exports in {folder}")
        return report
    if street is None:
        report.skipped.append("departmental imports: no street")
        return report
    files = {str(entry["code"]): folder / str(entry["file"]) for entry in manifest.get("files", [])}
    sources = {source.code: source for source in Source.objects.filter(code__in=DEMO_IMPORTED_SOURCES)}
    for code in DEMO_IMPORTED_SOURCES:
        if code not in files or code not in sources:
            continue
        say(f"importing {files[code].name} ({sources[code].department}) …")
        fused = import_run(actor=actor, source=sources[code], file_path=files[code], dry_run=False, area=street)
        report.done.append(
            f"{sources[code].department} {files[code].name}: {fused.rows_read:,} rows, "
            f"{fused.new_persons:,} new persons, {fused.conflicts:,} conflicts, {fused.review:,} to review")
    return report
