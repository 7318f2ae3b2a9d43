import pytest

from linli.cases.models import Case
from linli.catalogue.models import ServiceItem, ServiceWindow
from linli.core.actors import SystemActor
from linli.demo.extras import demo_extras_seed_if_missing
from linli.demo.services import demo_seed
from linli.fusion.models import Source
from linli.geo.choices import AreaLevel
from linli.geo.models import Area

pytestmark = pytest.mark.django_db
ACTOR = SystemActor("test:demo")


def test_extras_seed_the_missing_parts_once():
    # given a small demo street
    demo_seed(actor=ACTOR, residents=400, seed=2026)
    # when the extras are seeded twice
    first = demo_extras_seed_if_missing(actor=ACTOR, cases_per_month=20)
    counts = (ServiceItem.objects.count(), ServiceWindow.objects.count(), Case.objects.count())
    second = demo_extras_seed_if_missing(actor=ACTOR, cases_per_month=20)
    # then the first run wrote a catalogue, a window per community and a year of cases
    assert counts[0] >= 100
    assert counts[1] == Area.objects.filter(level=AreaLevel.COMMUNITY).count()
    assert counts[2] >= 12 * 10
    assert len(first.done) == 4
    assert Source.objects.count() == 6
    # and the second wrote nothing
    assert (ServiceItem.objects.count(), ServiceWindow.objects.count(), Case.objects.count()) == counts
    assert second.done == []


def test_extras_without_a_street_do_nothing():
    report = demo_extras_seed_if_missing(actor=ACTOR)
    assert report.done == []
    assert not ServiceItem.objects.exists()
