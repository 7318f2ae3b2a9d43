from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from linli.cockpit import workflow
from linli.cockpit.tests.cap_check import cap_errors
from linli.core.errors import ValidationFailed
from linli.geo.coords import gcj02_to_wgs84, wgs84_to_gcj02
from linli.registry.choices import TagKind

SQUARE = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0), (0.0, 0.0)]


def test_point_in_ring_inside_outside_and_concave() -> None:
    assert workflow.point_in_ring(0.5, 0.5, SQUARE)
    assert not workflow.point_in_ring(1.5, 0.5, SQUARE)
    # an L shape: the notch is outside
    ell = [(0, 0), (2, 0), (2, 1), (1, 1), (1, 2), (0, 2), (0, 0)]
    assert workflow.point_in_ring(0.5, 1.5, ell)
    assert not workflow.point_in_ring(1.5, 1.5, ell)


def test_shape_ring_closes_polygons_and_names_the_bad_field() -> None:
    ring = workflow.shape_ring({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1]]]})
    assert ring[0] == ring[-1]
    assert len(ring) == 4
    with pytest.raises(ValidationFailed) as error:
        workflow.shape_ring({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], ["x", 1]]]})
    assert error.value.field == "shape.coordinates[2]"
    with pytest.raises(ValidationFailed) as error:
        workflow.shape_ring({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]})
    assert error.value.field == "shape.coordinates"
    with pytest.raises(ValidationFailed) as error:
        workflow.shape_ring({"type": "Circle", "center": [120.2, 30.2], "radius_m": 99_999})
    assert error.value.field == "shape.radius_m"
    with pytest.raises(ValidationFailed) as error:
        workflow.shape_ring({"type": "Line"})
    assert error.value.field == "shape.type"


def test_circle_ring_has_the_radius_in_metres() -> None:
    ring = workflow.circle_ring((120.2, 30.2), 500)
    assert ring[0] == ring[-1]
    east = ring[0]  # angle 0: due east
    metres = (east[0] - 120.2) * 111_194.9 * 0.8645  # cos(30.2°)
    assert metres == pytest.approx(500, rel=0.01)
    assert workflow.point_in_ring(120.2, 30.2, ring)
    assert not workflow.point_in_ring(120.2, 30.2 + 0.0046, ring)  # ≈ 510 m north


def test_priority_puts_who_cannot_leave_alone_first() -> None:
    bedridden = workflow.household_priority([TagKind.BEDRIDDEN, TagKind.SUBSISTENCE])
    disabled = workflow.household_priority([TagKind.DISABLED])
    alone = workflow.household_priority([TagKind.LIVING_ALONE_ELDER, TagKind.SUBSISTENCE])
    pregnant = workflow.household_priority([TagKind.PREGNANT, workflow.CHILD])
    child = workflow.household_priority([workflow.CHILD])
    subsistence = workflow.household_priority([TagKind.SUBSISTENCE])
    nobody = workflow.household_priority([TagKind.VETERAN])
    assert bedridden < disabled < alone < pregnant < child < subsistence < nobody == workflow.NOT_VULNERABLE


def test_every_kind_the_issue_names_is_ranked_and_labelled() -> None:
    # elderly living alone, disabled, bedridden, pregnant, children, 低保
    named = [TagKind.LIVING_ALONE_ELDER, TagKind.DISABLED, TagKind.BEDRIDDEN, TagKind.PREGNANT, workflow.CHILD,
             TagKind.SUBSISTENCE]
    assert all(workflow.kind_rank(k) < workflow.NOT_VULNERABLE for k in named)
    assert {str(workflow.KIND_LABELS[k]) for k in (TagKind.BEDRIDDEN, TagKind.PREGNANT)} == {"卧床", "孕产妇"}
    assert workflow.sorted_kinds([TagKind.SUBSISTENCE, TagKind.PREGNANT, TagKind.BEDRIDDEN]) == [
        "bedridden", "pregnant", "subsistence"]


def test_is_child_by_birth_date() -> None:
    on = date(2026, 6, 1)
    assert workflow.is_child(date(2012, 6, 2), on)
    assert not workflow.is_child(date(2012, 6, 1), on)
    assert not workflow.is_child(None, on)


def test_common_path() -> None:
    assert workflow.common_path(["/1/4/17/30/", "/1/4/17/31/"]) == "/1/4/17/"
    assert workflow.common_path(["/1/4/17/30/", "/1/5/2/"]) == "/1/"
    assert workflow.common_path(["/1/4/"]) == "/1/4/"


def test_cap_time_and_polygon_formats() -> None:
    assert workflow.cap_time(datetime(2026, 12, 7, 3, 0, 1, 999, tzinfo=UTC)) == "2026-12-07T03:00:01-00:00"
    cst = timezone(timedelta(hours=8))
    assert workflow.cap_time(datetime(2026, 12, 7, 11, 0, tzinfo=cst)) == "2026-12-07T11:00:00+08:00"
    assert workflow.cap_polygon([(120.1, 30.1), (120.2, 30.1), (120.2, 30.2)]) == (
        "30.100000,120.100000 30.100000,120.200000 30.200000,120.200000 30.100000,120.100000")


def _alert(**changes: object) -> workflow.CapAlert:
    values: dict[str, object] = {
        "identifier": "linli-test-1", "sender": "linli@example.org",
        "sent": datetime(2026, 12, 7, 11, 0, tzinfo=timezone(timedelta(hours=8))),
        "event": "火情", "headline": "望江路12号火情", "area_desc": "望江街道", "ring": SQUARE,
    }
    values.update(changes)
    return workflow.CapAlert(**values)  # type: ignore[arg-type]


def test_cap_alert_conforms_to_cap_1_2() -> None:
    assert cap_errors(workflow.cap_alert_xml(_alert(sender_name="望江街道", description="d"))) == []


def test_cap_checker_catches_broken_documents() -> None:
    # the check itself must fail on documents that break the schema
    bad_enum = workflow.cap_alert_xml(_alert(severity="Huge"))
    assert any("severity" in e for e in cap_errors(bad_enum))
    broken = workflow.cap_alert_xml(_alert()).replace(b"<status>Actual</status>", b"")
    assert any("alert/status" in e for e in cap_errors(broken))
    swapped = workflow.cap_alert_xml(_alert()).replace(b"0.000000,1.000000", b"0.000000 1.000000")
    assert any("polygon" in e for e in cap_errors(swapped))
    with pytest.raises(ValueError, match="identifier"):
        workflow.cap_alert_xml(_alert(identifier="has space"))


def test_gcj02_conversion_at_the_map_edge_round_trips() -> None:
    # the JS base map uses the same formula; geo/coords.py is its tested reference
    lon, lat = wgs84_to_gcj02(120.2, 30.2)
    assert 300 < abs(lon - 120.2) * 96_000 + abs(lat - 30.2) * 111_000 < 1_000  # a few hundred metres
    back = gcj02_to_wgs84(lon, lat)
    assert back == pytest.approx((120.2, 30.2), abs=1e-8)
