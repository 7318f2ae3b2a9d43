"""Departmental demo exports: determinism, the error model's rates, truth, encodings, sheets."""

from __future__ import annotations

import io
import math
from pathlib import Path

import polars as pl
import pytest
from django.core.management import call_command

from linli.core import pii
from linli.core.actors import SystemActor
from linli.demo import export_errors as errs
from linli.demo.export_errors import RATES
from linli.demo.exports import LAYOUTS, ExportSet, generate_exports, write_exports
from linli.demo.services import demo_seed
from linli.registry.models import Person
from linli.registry.text import PII_ID_NUMBER
from linli.registry.validators import id_number_check_char, to_half_width, upgrade_id_number_15

RESIDENTS = 3000


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> ExportSet:
    return generate_exports(seed=7, residents=RESIDENTS, out_dir=tmp_path_factory.mktemp("exports"))


def id_header(code: str) -> str:
    return next(header for header, source in LAYOUTS[code].columns if source == "@id")


def name_header(code: str) -> str:
    return next(header for header, source in LAYOUTS[code].columns if source == "@name")


@pytest.fixture(scope="module")
def rows(exports: ExportSet) -> pl.DataFrame:
    """Every exported row's name and ID next to its truth and the registry's values."""
    parts = []
    for code, file in exports.files.items():
        for sheet, frame in file.frames.items():
            parts.append(frame.select(
                source=pl.lit(code), sheet=pl.lit(sheet if file.format == "xlsx" else None, dtype=pl.String),
                row_number=pl.int_range(1, frame.height + 1, dtype=pl.Int64),
                shown_name=pl.col(name_header(code)), shown_id=pl.col(id_header(code)),
            ))
    shown = pl.concat(parts)
    registry = exports.registry_frame().select("person_id", true_name="name", true_id="id_number",
                                               true_birth="birth_date")
    return exports.truth.join(shown, on=["source", "sheet", "row_number"], how="left", nulls_equal=True) \
        .join(registry, on="person_id", how="left")


def within(observed: int, expected: float) -> bool:
    """Binomial count within about four standard deviations of what the rate predicts."""
    return abs(observed - expected) <= 4 * math.sqrt(max(expected, 1.0)) + 2


# --- determinism -------------------------------------------------------------------------------


def test_same_seed_gives_the_same_exports_and_truth():
    # given / when
    first = generate_exports(seed=11, residents=600)
    second = generate_exports(seed=11, residents=600)
    # then
    for code in first.files:
        for sheet, frame in first.files[code].frames.items():
            assert frame.equals(second.files[code].frames[sheet])
    assert first.truth.equals(second.truth)
    assert first.conflicts.equals(second.conflicts)


def test_different_seed_gives_different_exports():
    # given / when
    first = generate_exports(seed=11, residents=600)
    other = generate_exports(seed=12, residents=600)
    # then
    assert not first.files["minzheng"].frame().equals(other.files["minzheng"].frame())


# --- the population each department covers ------------------------------------------------------


def test_each_department_covers_a_plausible_share_of_the_street(exports):
    # given
    rows = {code: file.rows for code, file in exports.files.items()}
    registry = exports.registry_frame()
    migrants = registry.filter(pl.col("hukou") == "migrant").height
    # then: 民政 (elders, assistance) and 计生 (户籍 population) are the big lists, 城管 small
    assert 0.1 * RESIDENTS < rows["minzheng"] < 0.4 * RESIDENTS
    assert 0.02 * RESIDENTS < rows["canlian"] < 0.1 * RESIDENTS
    assert 0.9 * RESIDENTS < rows["zongzhi"] < 1.05 * RESIDENTS
    assert 5 < rows["chengguan"] < 0.05 * RESIDENTS
    assert 0.8 * RESIDENTS < rows["jisheng"] < 1.5 * RESIDENTS
    assert 0.9 * migrants < rows["liudong"] < 1.3 * migrants


def test_people_not_in_the_registry_appear_only_where_registrations_outlive_residence(exports):
    # given
    outside = exports.truth.filter(pl.col("in_registry").not_())
    # then: 户籍 living elsewhere (计生, 民政) and migrants who left (流动人口)
    assert set(outside["source"].unique()) <= {"jisheng", "minzheng", "liudong"}
    assert outside.filter(pl.col("source") == "jisheng").height > 0
    assert outside.filter(pl.col("source") == "liudong").height > 0
    assert outside["entity"].str.starts_with("g").all()


# --- truth ------------------------------------------------------------------------------------


def test_every_row_has_a_true_person_and_nothing_else_has_one(exports, rows):
    # then
    assert exports.truth.height == exports.rows
    assert exports.truth["entity"].null_count() == 0
    assert exports.truth.select("source", "sheet", "row_number").n_unique() == exports.truth.height
    in_registry = exports.truth.filter(pl.col("in_registry"))
    assert in_registry["person_id"].is_in(exports.registry_frame()["person_id"].implode()).all()
    assert rows["shown_name"].null_count() == 0


def test_unchanged_names_and_ids_are_the_true_persons(rows):
    # given: registry rows whose name and ID the error model left alone
    clean = rows.filter(pl.col("in_registry") & (pl.col("errors") == "") & (pl.col("id_status") == errs.ID_OK))
    # then
    assert clean.height > 0.7 * rows.height
    assert (clean["shown_name"] == clean["true_name"]).all()
    assert (clean["shown_id"].str.to_uppercase() == clean["true_id"]).all()


def test_truth_ids_are_valid_synthetic_numbers_of_the_generator(exports):
    # given: no real person data — every ID comes from the generator with a valid check
    registry = exports.registry_frame().filter(pl.col("id_number").is_not_null())
    # then
    for number in registry["id_number"].to_list():
        assert id_number_check_char(number[:17]) == number[17]
    assert registry["id_number"].n_unique() == registry.height


# --- error model: each error at about its rate ------------------------------------------------


def expected_count(exports: ExportSet, rate_of: str, eligible: pl.Expr) -> float:
    truth = exports.truth
    return float(sum(
        getattr(RATES[code], rate_of) * truth.filter((pl.col("source") == code) & eligible).height
        for code in exports.files
    ))


@pytest.mark.parametrize(("status", "rate"), [
    (errs.ID_MISSING, "id_missing"), (errs.ID_TYPO, "id_typo"), (errs.ID_TRANSPOSED, "id_transposed"),
])
def test_id_errors_occur_at_their_documented_rate(exports, status, rate):
    # given
    has_id = pl.col("id_status") != errs.ID_NONE
    # when
    observed = exports.truth.filter(pl.col("id_status") == status).height
    # then
    assert within(observed, expected_count(exports, rate, has_id))


def test_missing_ids_are_most_common_in_chengguan(exports):
    # given
    share = exports.truth.group_by("source").agg((pl.col("id_status") == errs.ID_MISSING).mean().alias("share"))
    by_source = dict(share.iter_rows())
    # then
    assert by_source["chengguan"] == max(by_source.values())


def test_typos_and_transpositions_change_the_number_by_one_digit_or_one_swap(rows):
    # given
    typos = rows.filter(pl.col("in_registry") & (pl.col("id_status") == errs.ID_TYPO))
    swaps = rows.filter(pl.col("in_registry") & (pl.col("id_status") == errs.ID_TRANSPOSED))
    # then
    assert typos.height > 0
    assert swaps.height > 0
    for shown, true in typos.select("shown_id", "true_id").iter_rows():
        assert sum(a != b for a, b in zip(shown.upper(), true, strict=True)) == 1
    for shown, true in swaps.select("shown_id", "true_id").iter_rows():
        diffs = [i for i, (a, b) in enumerate(zip(shown, true, strict=True)) if a != b]
        assert len(diffs) == 2
        assert diffs[1] == diffs[0] + 1
        assert shown[diffs[0]] == true[diffs[1]]


def test_legacy_ids_are_fifteen_digits_of_people_born_before_1980_and_upgrade_back(rows):
    # given
    legacy = rows.filter(pl.col("in_registry") & (pl.col("id_status") == errs.ID_LEGACY15))
    # then
    assert legacy.height > 0
    assert set(legacy["source"].unique()) <= {"minzheng", "canlian", "jisheng"}
    for shown, true, born in legacy.select("shown_id", "true_id", "true_birth").iter_rows():
        assert born.year < 1980
        assert upgrade_id_number_15(to_half_width(shown)) == true


def test_legacy_ids_occur_at_about_three_to_four_percent_of_older_people(exports, rows):
    # given
    older = rows.filter(pl.col("true_birth").dt.year() < 1980)
    observed = older.filter(pl.col("id_status") == errs.ID_LEGACY15).height
    eligible = older.filter(pl.col("id_status") != errs.ID_NONE)
    expected = sum(RATES[c].id_legacy15 * eligible.filter(pl.col("source") == c).height for c in exports.files)
    # then: missing/typo rows draw first, so a little under the nominal rate
    assert 0.6 * expected - 3 <= observed <= expected + 4 * math.sqrt(expected) + 2


def test_full_width_ids_read_back_as_the_true_number(rows):
    # given
    wide = rows.filter(pl.col("in_registry") & (pl.col("id_status") == errs.ID_FULLWIDTH))
    # then
    assert wide.height > 0
    assert (wide["shown_id"].map_elements(to_half_width, return_dtype=pl.String).str.to_uppercase()
            == wide["true_id"]).all()
    assert not wide["shown_id"].str.contains(r"^[0-9Xx]+$").any()


def test_homophone_and_traditional_names_stay_close_to_the_true_name(rows):
    # given
    variants = rows.filter(pl.col("errors").str.contains("name_variant"))
    traditional = rows.filter(pl.col("errors").str.contains("name_traditional"))
    # then: one character differs, with the same length
    assert 0.004 * rows.height < variants.height < 0.03 * rows.height
    for shown, true in variants.select("shown_name", "true_name").drop_nulls().iter_rows():
        assert len(shown) == len(true)
        assert sum(a != b for a, b in zip(shown, true, strict=True)) == 1
    assert traditional.height > 0
    for shown, true in traditional.select("shown_name", "true_name").drop_nulls().iter_rows():
        assert shown != true
        assert len(shown) == len(true)


def test_duplicates_inside_one_export_are_about_half_a_percent(exports):
    # given
    truth = exports.truth
    observed = truth.filter(pl.col("duplicate")).height
    expected = sum(RATES[c].duplicate * truth.filter((pl.col("source") == c) & ~pl.col("duplicate")).height
                   for c in exports.files)
    # then
    assert within(observed, expected)
    assert truth.filter(pl.col("duplicate"))["entity"].is_in(
        truth.filter(~pl.col("duplicate"))["entity"].implode()).all()


def test_dates_come_in_every_format_departments_use(exports):
    # given
    values = pl.concat([
        exports.files["minzheng"].frame()["出生日期"], exports.files["liudong"].frame()["出生年月"],
        exports.files["jisheng"].frame()["出生日期"], exports.files["canlian"].frame()["出生年月"],
        exports.files["zongzhi"].frame()["出生日期"],
    ]).drop_nulls()
    # then
    patterns = {
        "compact": r"^\d{8}$", "iso": r"^\d{4}-\d{2}-\d{2}$", "dash_nopad": r"^\d{4}-\d{1,2}-\d{1,2}$",
        "slash": r"^\d{4}/\d{1,2}/\d{1,2}$", "chinese": r"^\d{4}年\d{1,2}月\d{1,2}日$",
        "excel_date": r"^\d{4}-\d{2}-\d{2} 00:00:00$", "excel_serial": r"^\d{5}$",
    }
    for name, pattern in patterns.items():
        assert values.str.contains(pattern).any(), name


def test_addresses_come_in_mixed_formats_with_and_without_the_district(exports):
    # given
    addresses = pl.concat([f.frame()[h] for c, f in exports.files.items()
                           for h, s in LAYOUTS[c].columns if s == "@address"]).drop_nulls()
    # then
    assert addresses.str.contains(r"\d+-\d+-\d+$").any()
    assert addresses.str.contains(r"\d+幢\d+单元\d+室$").any()
    assert addresses.str.contains(r"\d+号楼\d+单元\d+$").any()
    assert addresses.str.starts_with("杭州市上城区").any()
    assert (~addresses.str.contains("上城区")).any()


def test_deliberate_conflicts_contradict_the_registry(exports):
    # given
    conflicts = exports.conflicts
    registry = exports.registry_frame()
    # then
    assert set(conflicts["field"].unique()) >= {"is_deceased", "disability_grade", "phone", "address"}
    dead = conflicts.filter(pl.col("field") == "is_deceased").join(registry, on="person_id")
    assert dead.height > 0
    assert not dead["is_deceased"].any()
    grades = conflicts.filter(pl.col("field") == "disability_grade").join(registry, on="person_id")
    assert grades.height > 0
    for shown, disability in grades.select("source_value", "disability").iter_rows():
        assert shown not in disability
    assert (conflicts["source_value"] != conflicts["registry_value"]).all()


# --- files ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "encoding"), [
    ("minzheng", "gbk"), ("zongzhi", "gb18030"), ("chengguan", "utf-8-sig"), ("liudong", "utf-8"),
])
def test_csv_files_read_back_with_their_declared_encoding(exports, code, encoding):
    # given
    file = exports.files[code]
    assert file.path is not None
    data = file.path.read_bytes()
    # when
    back = pl.read_csv(io.StringIO(data.decode(encoding)), infer_schema=False)
    # then
    assert file.encoding == encoding
    assert back.equals(file.frames[""])


def test_gbk_and_gb18030_files_are_not_utf8(exports):
    for code in ("minzheng", "zongzhi"):
        data = exports.files[code].path.read_bytes()
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")


def test_chengguan_csv_starts_with_a_byte_order_mark(exports):
    assert exports.files["chengguan"].path.read_bytes().startswith(b"\xef\xbb\xbf")


def test_xlsx_files_have_their_sheets_and_read_back_unchanged(exports):
    # given
    canlian, jisheng = exports.files["canlian"], exports.files["jisheng"]
    # when
    back = {code: pl.read_excel(f.path, sheet_id=0, infer_schema_length=0) for code, f in
            (("canlian", canlian), ("jisheng", jisheng))}
    # then
    assert {"肢体残疾", "视力残疾", "听力残疾"} <= set(back["canlian"])
    assert list(back["jisheng"]) == ["全员人口", "独生子女父母", "出生登记", "流动人口育龄妇女"]
    for code, file in (("canlian", canlian), ("jisheng", jisheng)):
        for sheet, frame in file.frames.items():
            assert back[code][sheet].equals(frame), sheet


def test_truth_conflicts_registry_and_manifest_are_written_next_to_the_files(exports):
    # given
    out = exports.out_dir
    assert out is not None
    # when
    truth = pl.read_csv(out / "truth.csv", schema_overrides={"sheet": pl.String, "person_id": pl.Int64})
    # then
    assert truth.height == exports.rows
    assert (out / "conflicts.csv").exists()
    assert pl.read_parquet(out / "registry.parquet").height == RESIDENTS
    assert '"code": "minzheng"' in (out / "manifest.json").read_text(encoding="utf-8")


def test_management_command_writes_the_six_files(tmp_path: Path):
    # when
    call_command("linli_demo_exports", "--residents", "300", "--seed", "3", "--out", str(tmp_path),
                 stdout=io.StringIO())
    # then
    names = {p.name for p in tmp_path.iterdir()}
    assert {"minzheng.csv", "canlian.xlsx", "zongzhi.csv", "chengguan.csv", "jisheng.xlsx", "liudong.csv",
            "truth.csv", "conflicts.csv", "registry.parquet", "manifest.json"} <= names


def test_management_command_with_if_missing_writes_only_what_is_not_there(tmp_path: Path):
    # given
    args = ["linli_demo_exports", "--residents", "300", "--out", str(tmp_path), "--if-missing"]
    call_command(*args, "--seed", "3", stdout=io.StringIO())
    # when
    same, other = io.StringIO(), io.StringIO()
    call_command(*args, "--seed", "3", stdout=same)
    call_command(*args, "--seed", "4", stdout=other)
    # then
    assert "already" in same.getvalue()
    assert "wrote" in other.getvalue()
    assert '"seed": 4' in (tmp_path / "manifest.json").read_text(encoding="utf-8")


# --- joinable to the seeded registry ----------------------------------------------------------


@pytest.mark.django_db
def test_person_ids_of_the_truth_are_the_seeded_registry_persons():
    # given
    demo_seed(actor=SystemActor("test"), residents=300, seed=5, analyze=False)
    exports = generate_exports(seed=5, residents=300)
    # when
    stored = {p.id: (p.name, p.id_number_bidx) for p in Person.objects.all()}
    # then
    registry = exports.registry_frame()
    assert set(stored) == set(registry["person_id"].to_list())
    for person_id, name, number in registry.select("person_id", "name", "id_number").iter_rows():
        assert stored[person_id][0] == name
        assert stored[person_id][1] == (pii.blind_index(number, field=PII_ID_NUMBER) if number else "")


def test_files_written_in_chunks_read_back_the_same(tmp_path, monkeypatch):
    # given: chunks far smaller than the files, as for the district-sized exports
    exports = generate_exports(seed=7, residents=800)
    monkeypatch.setattr("linli.demo.exports.writing._CHUNK_ROWS", 97)
    # when
    write_exports(exports, tmp_path)
    # then
    for code in ("chengguan", "zongzhi"):
        file = exports.files[code]
        text = (tmp_path / file.file_name).read_bytes().decode(file.encoding)
        assert pl.read_csv(io.StringIO(text), infer_schema=False).equals(file.frames[""])
    back = pl.read_excel(tmp_path / "jisheng.xlsx", sheet_id=0, infer_schema_length=0)
    for sheet, frame in exports.files["jisheng"].frames.items():
        assert back[sheet].equals(frame)
