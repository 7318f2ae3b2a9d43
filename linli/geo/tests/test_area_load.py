"""``linli areas load``: a district's own tree from a file, idempotent, all rows or none."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from linli.core.models import AuditEntry
from linli.geo.choices import AreaLevel
from linli.geo.models import Area
from linli.geo.selectors import grid_locator

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
CSV, GEOJSON = SAMPLES / "areas-example.csv", SAMPLES / "areas-example.geojson"


def load(path: Path, *args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("linli_areas_load", str(path), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
@pytest.mark.parametrize("sample", [CSV, GEOJSON], ids=["csv", "geojson"])
def test_loading_the_sample_twice_builds_the_tree_once(sample: Path) -> None:
    # when
    first, _ = load(sample)
    entries = AuditEntry.objects.count()
    second, _ = load(sample)
    # then the tree is there, with paths, centroids and the national codes cut to level codes
    assert "created 8, changed 0, unchanged 0" in first
    assert "created 0, changed 0, unchanged 8" in second
    assert AuditEntry.objects.count() == entries  # the second load wrote nothing
    district = Area.objects.get(code="330102")
    assert (district.level, district.parent) == (AreaLevel.DISTRICT, None)
    grid = Area.objects.get(code="330102001002002")
    street = Area.objects.get(code="330102001")
    assert grid.path.startswith(street.path)
    assert grid.centroid_lon == pytest.approx(120.215)
    assert grid_locator().locate(120.215, 30.215).grid_id == grid.pk


@pytest.mark.django_db
def test_a_dry_run_prints_what_would_change_and_writes_nothing() -> None:
    # when
    out, _ = load(CSV, "--dry-run")
    # then
    assert "+ 330102001001002 近江社区第2网格 (网格)" in out
    assert "would create 8, would change 0, unchanged 0" in out
    assert not Area.objects.exists()
    assert not AuditEntry.objects.exists()


@pytest.mark.django_db
def test_a_changed_name_and_boundary_are_updated_and_only_those(tmp_path: Path) -> None:
    # given the sample loaded, then a file where one community is renamed and one grid redrawn
    load(CSV)
    text = CSV.read_text(encoding="utf-8").replace("婺江社区,", "婺江新社区,").replace(
        '[[[120.21,30.21],[120.22,30.21],[120.22,30.22],[120.21,30.22],[120.21,30.21]]]',
        '[[[120.21,30.21],[120.225,30.21],[120.225,30.22],[120.21,30.22],[120.21,30.21]]]')
    changed = tmp_path / "areas.csv"
    changed.write_text(text, encoding="utf-8")
    # when
    dry, _ = load(changed, "--dry-run")
    out, _ = load(changed)
    # then
    assert "~ 330102001002 婺江新社区: name" in dry
    assert "~ 330102001002002 婺江社区第2网格: boundary" in dry
    assert "created 0, changed 2, unchanged 6" in out
    assert Area.objects.get(code="330102001002").name == "婺江新社区"
    redrawn = Area.objects.get(code="330102001002002").boundary
    assert redrawn is not None
    assert redrawn["coordinates"][0][1] == [120.225, 30.21]


@pytest.mark.django_db
def test_bad_rows_are_reported_by_line_and_nothing_is_written(tmp_path: Path) -> None:
    # given a file with a grid whose code does not begin with its community's, a street whose
    # parent is missing and two rows with the same code
    bad = tmp_path / "areas.csv"
    bad.write_text(
        "code,name,parent_code,level\n"
        "330102,上城区,,区\n"
        "330102001,望江街道,330102,街道\n"
        "330102001001,近江社区,330102001,社区\n"
        "330102009001001,错编网格,330102001001,网格\n"
        "330199001,飞地街道,330199,街道\n"
        "330102001001,近江社区重复,330102001,社区\n", encoding="utf-8")
    # when
    message, err = load_errors(bad)
    # then every problem names its line and field, and not even the good rows were written
    assert message == "3 problem(s) in areas.csv: nothing was written"
    assert "第5行: code:" in err
    assert "第6行: parent_code: 上级编码330199既不在文件中也不在系统中" in err
    assert "第7行: code: 编码与第4行重复" in err
    assert not Area.objects.exists()


def load_errors(path: Path) -> tuple[str, str]:
    """The command's refusal and what it printed about each problem."""
    err = StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("linli_areas_load", str(path), stdout=StringIO(), stderr=err)
    return str(refused.value), err.getvalue()


@pytest.mark.django_db
def test_an_existing_area_under_another_parent_is_not_moved_by_a_load(tmp_path: Path) -> None:
    # given the sample, then a file that puts an existing grid under a new zone of its community
    load(CSV)
    moved = tmp_path / "areas.csv"
    moved.write_text("code,name,parent_code,level\n"
                     "330102001001901,北片,330102001001,片区\n"
                     "330102001001002,近江社区第2网格,330102001001901,网格\n", encoding="utf-8")
    # when
    _message, err = load_errors(moved)
    # then moving is left to the administration page
    assert "第3行: parent_code: 已有区域330102001001002的上级是330102001001" in err
    assert Area.objects.get(code="330102001001002").parent == Area.objects.get(code="330102001001")
    assert not Area.objects.filter(code="330102001001901").exists()


@pytest.mark.django_db
def test_a_missing_file_is_a_clear_error() -> None:
    with pytest.raises(CommandError, match="no such file"):
        load(SAMPLES / "nope.csv")
