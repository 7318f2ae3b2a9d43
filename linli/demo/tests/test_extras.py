import pytest

from linli.cases.models import Case
from linli.catalogue.data.items import SEED_ITEMS
from linli.catalogue.data.items_more_city import MORE_CITY
from linli.catalogue.data.items_more_welfare import MORE_WELFARE
from linli.catalogue.models import Application, Appointment, ServiceItem, ServiceWindow
from linli.catalogue.seed_items import catalogue_seed
from linli.core.actors import SystemActor
from linli.demo.exports import generate_exports
from linli.demo.extras import (
    DEMO_IMPORTED_SOURCES,
    demo_extras_seed_if_missing,
    demo_imports_if_missing,
)
from linli.demo.services import demo_seed
from linli.fusion.models import FieldProvenance, ImportJob, Source
from linli.fusion.services import sources_sync
from linli.geo.choices import AreaLevel
from linli.geo.models import Area

pytestmark = pytest.mark.django_db
ACTOR = SystemActor("test:demo")
ISSUE_5_CODES = {item.code for item in SEED_ITEMS} - {item.code for item in (*MORE_WELFARE, *MORE_CITY)}


def test_extras_seed_the_missing_parts_once():
    # given a small demo street
    demo_seed(actor=ACTOR, residents=400, seed=2026)
    # when the extras are seeded twice
    first = demo_extras_seed_if_missing(actor=ACTOR, cases_per_month=20)
    counts = (ServiceItem.objects.count(), ServiceWindow.objects.count(), Case.objects.count(),
              Application.objects.count(), Appointment.objects.count())
    second = demo_extras_seed_if_missing(actor=ACTOR, cases_per_month=20)
    # then the first run wrote a catalogue, a window per community, a year of cases and of
    # the service halls
    assert counts[0] >= 180
    assert counts[1] == Area.objects.filter(level=AreaLevel.COMMUNITY).count()
    assert counts[2] >= 12 * 10
    assert counts[3] >= 12 * 10
    assert counts[4] > 0
    assert len(first.done) == 7  # catalogue, windows, sources, cases, halls, care, devices
    assert Source.objects.count() == 6
    # and the second wrote nothing
    assert (ServiceItem.objects.count(), ServiceWindow.objects.count(), Case.objects.count(),
            Application.objects.count(), Appointment.objects.count()) == counts
    assert second.done == []


def test_a_data_folder_of_an_older_catalogue_gets_the_items_added_since():
    # given a street whose catalogue is the issue-5 one (117 items)
    demo_seed(actor=ACTOR, residents=0, seed=2026)
    catalogue_seed(actor=ACTOR, items=[item for item in SEED_ITEMS if item.code in ISSUE_5_CODES])
    # when the extras run
    report = demo_extras_seed_if_missing(actor=ACTOR, cases_per_month=1)
    # then the new items are added and the old ones kept
    assert ServiceItem.objects.count() == len(SEED_ITEMS)
    assert report.done[0] == f"catalogue: {len(SEED_ITEMS) - len(ISSUE_5_CODES)} service items"


def test_extras_without_a_street_do_nothing():
    report = demo_extras_seed_if_missing(actor=ACTOR)
    assert report.done == []
    assert not ServiceItem.objects.exists()


def test_demo_imports_five_exports_under_the_street_once(tmp_path):
    # given a small demo street, its import sources and its six exports
    demo_seed(actor=ACTOR, residents=400, seed=2026)
    sources_sync(actor=ACTOR)
    generate_exports(seed=2026, residents=400, out_dir=tmp_path)
    street = Area.objects.get(level=AreaLevel.STREET)
    # when the demo imports run twice
    first = demo_imports_if_missing(actor=ACTOR, directory=tmp_path)
    jobs = list(ImportJob.objects.order_by("pk").values_list("source__code", "area_id", "status", "dry_run"))
    provenance = FieldProvenance.objects.count()
    second = demo_imports_if_missing(actor=ACTOR, directory=tmp_path)
    # then every export but 计生 was committed under the street, and the registry knows its sources
    assert [code for code, *_ in jobs] == list(DEMO_IMPORTED_SOURCES)
    assert "jisheng" not in DEMO_IMPORTED_SOURCES
    assert {(area, status, dry) for _, area, status, dry in jobs} == {(street.pk, "done", False)}
    assert len(first.done) == len(DEMO_IMPORTED_SOURCES)
    assert provenance > 400
    # and the second run imported nothing
    assert second.done == []
    assert ImportJob.objects.count() == len(DEMO_IMPORTED_SOURCES)


def test_demo_imports_without_exports_do_nothing(tmp_path):
    demo_seed(actor=ACTOR, residents=200, seed=2026)
    report = demo_imports_if_missing(actor=ACTOR, directory=tmp_path)
    assert report.done == []
    assert "no exports" in report.skipped[0]
    assert not ImportJob.objects.exists()
