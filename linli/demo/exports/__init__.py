"""Six departmental exports of the demo street, with a seeded error model and the truth.

The street office gets lists from 民政, 残联, 综治, 城管, 计生 and 流动人口, each with its
own columns, encoding, date and address habits and its own mistakes. ``generate_exports``
draws them from the same generator as :func:`linli.demo.services.demo_seed` (same seed and
residents → same people), corrupts them as described in ``docs/fusion-error-model.md``
(rates in :mod:`linli.demo.export_errors`) and keeps the ground truth aside: the true person
of every row and the list of deliberate conflicts.

Person keys: ``person_id`` is the generator's person id. ``demo_seed`` refuses to run unless
the registry has no persons and numbers persons from 1 in generator order, so with the same
seed and residents it equals ``registry.Person.id``. Rows of people who are not in the
registry (registered here but living elsewhere, migrants who left) have no ``person_id``;
``entity`` (``p123`` / ``g45``) names the true cluster of every row.

Speed: selection and formatting are Polars expressions; only the few corrupted values are
touched one by one in Python. Memory is the population frame plus the exports.

The package: :mod:`.population` (the street as one frame, people not in the registry),
:mod:`.render` (the error model applied to one department's rows), :mod:`.layouts` (each
department's headers), :mod:`.writing` (CSV / XLSX files and the manifest), :mod:`.results`
(what is handed back). The six departments' selections stay in this module: fusion's tests
read its text for the values each department writes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Final

import numpy as np
import polars as pl

from linli.demo import export_errors as errs
from linli.demo.exports.layouts import LAYOUTS
from linli.demo.exports.population import _collect, _ghosts, _registry
from linli.demo.exports.render import _BASE, _render
from linli.demo.exports.results import ExportFile, ExportSet
from linli.demo.exports.writing import write_exports
from linli.demo.generator import DEFAULT_RESIDENTS, DEFAULT_SEED, StreetPlan, plan_street
from linli.demo.people import FOREIGN, LOCAL, MIGRANT, REFERENCE_DATE
from linli.demo.rows import IdCounters
from linli.registry.choices import Relation

EXPORTS_DIRNAME: Final = "exports"
_GRADES: Final = "一二三四"
_DISABILITY_CODES: Final = {"视力": 1, "听力": 2, "言语": 3, "肢体": 4, "智力": 5, "精神": 6, "多重": 7}
_PROVINCES: Final = {
    "11": "北京市", "13": "河北省", "23": "黑龙江省", "31": "上海市", "32": "江苏省", "33": "浙江省",
    "34": "安徽省", "35": "福建省", "36": "江西省", "37": "山东省", "41": "河南省", "42": "湖北省",
    "43": "湖南省", "44": "广东省", "45": "广西壮族自治区", "50": "重庆市", "51": "四川省",
    "52": "贵州省", "61": "陕西省", "62": "甘肃省",
}
_VILLAGE_WORDS: Final = ("王庄", "李家村", "新集", "河口", "东湖村", "石桥", "高庙", "张湾")


# ---------------------------------------------------------------------------------------------
# The six departments: who is on each list and with which extra columns


def _base(frame: pl.DataFrame, *extra: pl.Expr | str) -> pl.DataFrame:
    return frame.select(*_BASE, *extra)


def _date_text(column: str) -> pl.Expr:
    return pl.col(column).dt.strftime("%Y-%m-%d")


def _minzheng(pop: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """民政: 高龄津贴, 居家养老服务补贴, 低保/低边/特困, 残疾人两项补贴, 留守儿童 — one row per benefit."""
    local = pop.filter(pl.col("hukou") == LOCAL)
    alive = pl.col("is_deceased").not_() & pl.col("ghost").is_null()
    special = pl.col("subsistence") & (pl.col("age") >= 60) & pl.col("alone_mz")
    parts = [
        local.filter(pl.col("age") >= 80).with_columns(category=pl.lit("高龄津贴")),
        local.filter(alive & (pl.col("alone_mz") | pl.col("empty_nest_mz"))).with_columns(
            category=pl.lit("居家养老服务补贴")),
        local.filter(alive & pl.col("subsistence")).with_columns(
            category=pl.when(special).then(pl.lit("特困供养")).otherwise(pl.lit("最低生活保障"))),
        local.filter(alive & pl.col("near_subsistence")).with_columns(category=pl.lit("低保边缘")),
        local.filter(alive & pl.col("disability").is_not_null() & (
            pl.col("subsistence") | pl.col("near_subsistence") | pl.col("disability").str.contains("[一二]级"))
        ).with_columns(category=pl.lit("残疾人两项补贴")),
        local.filter(alive & pl.col("left_behind")).with_columns(category=pl.lit("留守儿童")),
    ]
    rows = pl.concat(parts)
    n = rows.height
    # Deliberate conflicts: some living elders recorded as deceased; some grades out of date.
    dead_wrongly = ((rng.random(n) < 0.006) & (rows["age"] >= 75).to_numpy()
                    & rows["person_id"].is_not_null().to_numpy() & ~rows["is_deceased"].to_numpy())
    shift = rng.random(n) < 0.1
    death = [REFERENCE_DATE - timedelta(days=int(d)) for d in rng.integers(20, 400, size=n)]
    grade = pl.col("disability").str.extract(r"([一二三四])级")
    true_grade = grade.replace_strict({c: i + 1 for i, c in enumerate(_GRADES)}, default=None)
    other_grade = pl.when(true_grade >= 4).then(3).otherwise(true_grade + 1)
    two_subsidies = pl.col("category") == "残疾人两项补贴"
    grade_conflict = pl.Series(shift) & two_subsidies & pl.col("person_id").is_not_null()
    shown_grade = pl.when(grade_conflict).then(other_grade).otherwise(true_grade)
    dead = pl.col("is_deceased") | pl.Series(dead_wrongly)
    rows = rows.with_columns(
        残疾等级=pl.when(two_subsidies).then(pl.concat_str([
            shown_grade.replace_strict({i + 1: c for i, c in enumerate(_GRADES)}, default=None), pl.lit("级")])),
        享受状态=pl.when(dead).then(pl.lit("已故停发")).otherwise(pl.lit("正常")),
        死亡日期=pl.when(pl.Series(dead_wrongly)).then(pl.Series(death, dtype=pl.Date).dt.strftime("%Y-%m-%d"))
        .when(dead).then(_date_text("deceased_on")),
        conflict_field=pl.when(pl.Series(dead_wrongly)).then(pl.lit("is_deceased"))
        .when(grade_conflict).then(pl.lit("disability_grade")),
    ).with_columns(
        conflict_value=pl.when(pl.col("conflict_field") == "is_deceased").then(pl.lit("已故"))
        .when(pl.col("conflict_field") == "disability_grade").then(pl.col("残疾等级")),
        registry_value=pl.when(pl.col("conflict_field") == "is_deceased").then(pl.lit("在世"))
        .when(pl.col("conflict_field") == "disability_grade").then(pl.concat_str([grade, pl.lit("级")])),
    )
    return _base(rows, "category", "残疾等级", "享受状态", "死亡日期", "conflict_field", "conflict_value",
                 "registry_value")


def _canlian(pop: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """残联: holders of a disability card, one sheet per category (肢体残疾, 视力残疾 …)."""
    rows = pop.filter(pl.col("disability").is_not_null() & pl.col("is_deceased").not_())
    rows = rows.filter(pl.Series(rng.random(rows.height) < 0.97))  # a few never applied for the card
    category = pl.col("disability").str.extract(r"^(\S+?)残疾")
    grade_char = pl.col("disability").str.extract(r"([一二三四])级")
    grade_no = grade_char.replace_strict({c: str(i + 1) for i, c in enumerate(_GRADES)}, default=None)
    rows = rows.with_columns(_code=category.replace_strict(_DISABILITY_CODES, default=7)).sort("_code")
    # 享受补贴 (the two subsidies of the same system): most grade 1–2 holders draw the care
    # subsidy, some others the living subsidy; a clerk sometimes types the short name. Picked
    # from the person id, not the generator's random stream, so the error model is unchanged.
    pick = pl.col("person_id").fill_null(0) % 20
    severe = grade_char.is_in(["一", "二"])
    subsidy = (pl.when(severe & (pick < 2)).then(pl.lit("护理补贴"))
               .when(severe & (pick < 18)).then(pl.lit("重度残疾人护理补贴"))
               .when(severe.not_() & (pick < 1)).then(pl.lit("生活补贴"))
               .when(severe.not_() & (pick < 3)).then(pl.lit("困难残疾人生活补贴")))
    return _base(rows.with_columns(
        享受补贴=subsidy,
        sheet=pl.concat_str([category, pl.lit("残疾")]),
        残疾类别=pl.concat_str([category, pl.lit("残疾")]),
        残疾等级=pl.concat_str([grade_char, pl.lit("级")]),
        _card_suffix=pl.concat_str([category.replace_strict({k: str(v) for k, v in _DISABILITY_CODES.items()},
                                                            default="7"), grade_no]),
        发证日期=_date_text("disability_since"),
    ), "sheet", "残疾类别", "残疾等级", "_card_suffix", "发证日期", "享受补贴")


def _canlian_card(work: pl.DataFrame) -> pl.DataFrame:
    """残疾证号 = the ID number typed on the card + category + grade (typos carry over)."""
    carried = pl.col("_id_status").is_in([errs.ID_TYPO, errs.ID_TRANSPOSED])
    number = pl.when(carried).then(pl.col("_id")).otherwise(pl.col("id_number"))
    return work.with_columns(残疾证号=pl.when(pl.col("_id_status") == errs.ID_MISSING).then(None)
                             .otherwise(pl.concat_str([number, pl.col("_card_suffix")])))


def _zongzhi(pop: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """综治: 实有人口 of the grid platform with 出租房屋 (房东) and 重点人员 columns."""
    rows = pop.filter(pl.col("ghost").is_null() & pl.col("is_deceased").not_())
    rows = rows.filter(pl.Series(rng.random(rows.height) < 0.97))  # grid workers have not met everyone yet
    landlords = pop.filter(pl.col("ghost").is_null()).select(
        landlord_id="person_id", 房东姓名="name", 房东联系电话="phone")
    rows = rows.join(landlords, on="landlord_id", how="left", maintain_order="left")
    passport = pl.concat_str([pl.lit("E"), (pl.col("person_id") * 7919 % 90_000_000 + 10_000_000).cast(pl.String)])
    return _base(rows.with_columns(
        所属网格="grid_name",
        证件类型=pl.when(pl.col("hukou") == FOREIGN).then(pl.lit("护照")).otherwise(pl.lit("居民身份证")),
        passport=pl.when(pl.col("hukou") == FOREIGN).then(passport),
        民族="ethnicity",
        人员类别=pl.col("hukou").replace_strict({LOCAL: "户籍人口", MIGRANT: "流动人口", FOREIGN: "境外人员"}),
        房屋性质=pl.when(pl.col("rented")).then(pl.lit("出租")).otherwise(pl.lit("自住")),
        重点人员类别=pl.when(pl.col("severe_mental")).then(pl.lit("严重精神障碍患者"))
        .when(pl.col("correction")).then(pl.lit("社区矫正对象")),
        登记日期=pl.col("moved_in").fill_null(pl.Series([
            REFERENCE_DATE - timedelta(days=int(d)) for d in rng.integers(30, 3000, size=rows.height)],
            dtype=pl.Date)).dt.strftime("%Y%m%d"),
    ), "所属网格", "证件类型", "passport", "民族", "人员类别", "房屋性质", "房东姓名", "房东联系电话",
        "重点人员类别", "登记日期")


def _chengguan(pop: pl.DataFrame, shops: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """城管: shop owners (门店) and street vendors (流动摊贩) with where they trade."""
    adults = pop.filter(pl.col("ghost").is_null() & pl.col("is_deceased").not_() & pl.col("age").is_between(25, 65)
                        & (pl.col("hukou") != FOREIGN))
    by_grid = adults.partition_by("grid_code", as_dict=True, maintain_order=True)
    picks: list[pl.DataFrame] = []
    for (grid,), grid_shops in shops.partition_by("grid_code", as_dict=True, maintain_order=True).items():
        candidates = by_grid.get((grid,))
        if candidates is None or candidates.height == 0:
            continue
        migrant = (candidates["hukou"] == MIGRANT).to_numpy()
        weights = np.where(migrant, 3.0, 1.0)  # most shopkeepers in old streets come from elsewhere
        chosen = rng.choice(candidates.height, size=grid_shops.height, p=weights / weights.sum())
        picks.append(pl.concat([candidates[chosen].select(*_BASE), grid_shops.select(
            店铺名称="shop", 经营地址="shop_address", 登记日期=pl.col("since").dt.strftime("%Y/%m/%d"),
            经营类型=pl.lit("门店"))], how="horizontal"))
    vendors = adults.filter(pl.Series(rng.random(adults.height) < np.where(
        (adults["hukou"] == MIGRANT).to_numpy(), 0.012, 0.002)))
    spots = ("菜场东门", "地铁站B口", "小区北门", "学校门口", "公交站旁", "夜市")
    picks.append(vendors.select(*_BASE).with_columns(
        店铺名称=pl.lit(None, dtype=pl.String),
        经营地址=pl.concat_str([pl.col("compound"), pl.Series(np.array(spots, dtype=object)[
            rng.integers(0, len(spots), size=vendors.height)], dtype=pl.String)]),
        登记日期=pl.Series([(REFERENCE_DATE - timedelta(days=int(d))).strftime("%Y/%m/%d")
                          for d in rng.integers(10, 900, size=vendors.height)], dtype=pl.String),
        经营类型=pl.lit("流动摊贩"),
    ))
    return pl.concat(picks)


def _jisheng(pop: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """计生: 全员人口 (户籍, incl. those living elsewhere), 独生子女父母, 出生登记, 流动人口育龄妇女."""
    local = pop.filter((pl.col("hukou") == LOCAL) & (pl.col("ghost").is_null() | (pl.col("ghost") == "elsewhere")))
    everyone = local.with_columns(sheet=pl.lit("全员人口"))
    only_child = pop.filter(pl.col("ghost").is_null() & (pl.col("hukou") == LOCAL)
                            & pl.col("relation").is_in([Relation.HEAD, Relation.SPOUSE]) & (pl.col("hh_children") == 1)
                            & pl.col("age").is_between(30, 75))
    kids = pop.filter(pl.col("relation") == Relation.CHILD).select(
        "household_id", 子女姓名="name", _child_birth="birth")
    only_child = only_child.join(kids, on="household_id", how="inner", maintain_order="left").filter(
        pl.col("_child_birth").dt.year() < 2016).with_columns(
        sheet=pl.lit("独生子女父母"),
        独生子女证号=pl.concat_str([pl.lit("浙独"), pl.col("_child_birth").dt.year().cast(pl.String),
                                   (pl.col("household_id") % 100_000).cast(pl.String).str.zfill(5)]),
    )
    births = pop.filter(pl.col("ghost").is_null() & (pl.col("age") <= 2)).with_columns(sheet=pl.lit("出生登记"))
    women = pop.filter(pl.col("ghost").is_null() & (pl.col("hukou") == MIGRANT) & (pl.col("sex") == "F")
                       & pl.col("age").is_between(15, 49)).with_columns(sheet=pl.lit("流动人口育龄妇女"))
    rows = pl.concat([everyone, only_child, births, women], how="diagonal_relaxed")
    hukou_address = pl.concat_str([pl.lit("杭州市上城区"), pl.col("road"), pl.col("road_no").cast(pl.String), pl.lit("号")])
    return _base(rows.with_columns(
        民族="ethnicity",
        人员类别=pl.col("sheet"),
        户籍地址=pl.when(pl.col("hukou") == LOCAL).then(hukou_address),
        人户状态=pl.when(pl.col("ghost") == "elsewhere").then(pl.lit("户在人不在"))
        .when(pl.col("hukou") == LOCAL).then(pl.lit("人户一致")).otherwise(pl.lit("人在户不在")),
    ), "sheet", "民族", "人员类别", "户籍地址", "人户状态", "独生子女证号", "子女姓名")


def _liudong(pop: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """流动人口: 居住证 registrations of migrants, those who left marked 已注销."""
    rows = pop.filter((pl.col("hukou") == MIGRANT) & (pl.col("ghost").is_null() | (pl.col("ghost") == "left"))
                      & pl.col("is_deceased").not_())
    rows = rows.filter(pl.Series(rng.random(rows.height) < 0.93) | pl.col("ghost").is_not_null())
    n = rows.height
    registered = pl.Series([REFERENCE_DATE - timedelta(days=int(d)) for d in rng.integers(30, 2000, size=n)],
                           dtype=pl.Date)
    reasons = np.array(("务工", "务工", "务工", "经商", "投靠亲友", "就学", "其他"), dtype=object)
    villages = np.array(_VILLAGE_WORDS, dtype=object)
    province = pl.col("id_number").str.slice(0, 2).replace_strict(_PROVINCES, default="")
    return _base(rows.with_columns(
        民族="ethnicity",
        户籍地址=pl.concat_str([province, pl.Series(villages[rng.integers(0, len(villages), size=n)], dtype=pl.String),
                               pl.Series(rng.integers(1, 200, size=n)).cast(pl.String), pl.lit("号")]),
        居住证号=pl.concat_str([pl.lit("330102"), registered.dt.strftime("%y"),
                               pl.Series(rng.integers(0, 10**8, size=n)).cast(pl.String).str.zfill(8)]),
        居住事由=pl.Series(reasons[rng.integers(0, len(reasons), size=n)], dtype=pl.String),
        登记日期=registered.dt.strftime("%Y-%m-%d"),
        状态=pl.when(pl.col("ghost") == "left").then(pl.lit("已注销")).otherwise(pl.lit("在住")),
    ), "民族", "户籍地址", "居住证号", "居住事由", "登记日期", "状态")


# ---------------------------------------------------------------------------------------------
# Entry point


def generate_exports(
    *, seed: int = DEFAULT_SEED, residents: int | None = None, plan: StreetPlan | None = None,
    out_dir: Path | None = None,
) -> ExportSet:
    """Draw the six departmental exports of the demo street; write them when ``out_dir`` is set.

    ``plan`` (from :func:`plan_street`) overrides ``residents``; without either the street
    has the demo's default size. The same seed and residents always give the same files.
    """
    timings: dict[str, float] = {}
    started = time.perf_counter()
    if plan is None:
        ids = IdCounters()
        plan = plan_street(seed=seed, residents=DEFAULT_RESIDENTS if residents is None else residents, ids=ids)
    else:
        seed = plan.seed
        ids = IdCounters(area=max(a.id for a in plan.areas) + 1)
    street, generator = _collect(plan, ids, seed)
    timings["population"] = time.perf_counter() - started
    lap = time.perf_counter()
    ghosts = _ghosts(street, generator, seed)
    pop = pl.concat([street.people, ghosts], how="diagonal_relaxed").with_columns(
        pl.col(c).fill_null(value=False) for c in ("is_deceased", "rented", "subsistence", "near_subsistence",
                                             "alone_mz", "empty_nest_mz", "left_behind", "severe_mental",
                                             "correction"))
    timings["ghosts"] = time.perf_counter() - lap
    builders: dict[str, Callable[[np.random.Generator], pl.DataFrame]] = {
        errs.MINZHENG: lambda r: _minzheng(pop, r),
        errs.CANLIAN: lambda r: _canlian(pop, r),
        errs.ZONGZHI: lambda r: _zongzhi(pop, r),
        errs.CHENGGUAN: lambda r: _chengguan(pop, street.shops, r),
        errs.JISHENG: lambda r: _jisheng(pop, r),
        errs.LIUDONG: lambda r: _liudong(pop, r),
    }
    files: dict[str, ExportFile] = {}
    truths: list[pl.DataFrame] = []
    conflicts: list[pl.DataFrame] = []
    for index, code in enumerate(errs.DEPARTMENT_CODES):
        lap = time.perf_counter()
        rng = np.random.default_rng([seed, index, 0x1EC5])
        layout = LAYOUTS[code]
        rendered = _render(builders[code](rng), layout, rng, street,
                           finish=_canlian_card if code == errs.CANLIAN else None)
        files[code] = ExportFile(code, layout.department, layout.title, layout.file_name, layout.format,
                                 layout.encoding, rendered.frames)
        truths.append(rendered.truth)
        conflicts.append(rendered.conflicts)
        timings[code] = time.perf_counter() - lap
    lap = time.perf_counter()
    registry = _registry(street.people)
    timings["registry"] = time.perf_counter() - lap
    exports = ExportSet(seed=seed, residents=plan.residents, files=files, truth=pl.concat(truths),
                        conflicts=pl.concat(conflicts), timings=timings, out_dir=None, _registry=registry)
    if out_dir is not None:
        lap = time.perf_counter()
        write_exports(exports, out_dir)
        timings["write"] = time.perf_counter() - lap
    return exports


__all__ = [
    "EXPORTS_DIRNAME",
    "LAYOUTS",
    "ExportFile",
    "ExportSet",
    "generate_exports",
    "write_exports",
]
