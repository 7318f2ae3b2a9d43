"""A hard DEV set for fusion, made by us (linli's developers) — NOT independent data.

    .venv/bin/python -m benchmarks.data.dev_fusion.generate [--seed 11] [--persons 1500]

Written from issue 17's description of the error classes only (homophones, one-character
name differences, address notations, ID typos / transpositions / missing IDs, rows with
name + sex + address only, namesakes in one building), to develop and tune the matcher on.
The held-out set (``benchmarks/data/independent_fusion``) is never used for tuning; this one
may be. Output (``out/``), the integrator-style definitions (``definitions/``) and
``truth.csv`` / ``noise_log.csv`` have the layout ``benchmarks.eval_fusion_independent``
reads, so the same whole-import-path evaluation runs on it:

    .venv/bin/python -m benchmarks.eval_fusion_independent --data benchmarks/data/dev_fusion --orders 2
"""

from __future__ import annotations

import argparse
import csv
import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = ("伟 芳 娜 敏 静 丽 强 磊 军 洋 勇 艳 杰 娟 涛 明 超 秀英 霞 平 刚 桂英 欣怡 雨馨 子涵 浩然 梓轩 思远 "
         "晓东 建华 国庆 海燕 文博 一鸣 佳琪 雨欣 心怡 俊杰 志强 秀兰 玉兰 淑珍 丽华 春梅 红梅 建国 建军 "
         "婷婷 欣然 语桐 宇航 明轩 晨曦 诗涵 梦琪 雅静 嘉怡 子墨 昊天 一诺 若汐 沐阳 博文").split()
# Characters read alike (same toneless pinyin): a name heard over the phone or typed by pinyin.
HOMOPHONES = ["伟纬玮", "芳方", "丽莉俐", "静晶婧", "军君", "洋阳扬", "艳燕", "杰洁", "娟鹃", "涛韬", "明铭鸣",
              "霞侠", "平萍", "刚钢", "欣馨心新", "怡宜仪", "雨语宇", "涵寒", "浩昊", "然燃", "轩萱宣", "远源",
              "东冬", "华桦", "庆青", "海", "文雯", "博波", "佳嘉家", "琪琦淇", "杰捷", "志智", "强墙", "兰岚",
              "珍贞", "梅玫", "国", "婷亭", "诗师", "梦蒙", "雅亚", "墨默", "天添", "诺娜", "汐希熙", "阳洋"]
# One character slipped to a near syllable (xin/xing, yan/yang, jing/jin …), not a homophone.
NEAR = {"欣": "星", "馨": "兴", "静": "锦", "燕": "阳", "艳": "样", "明": "民", "平": "品", "婷": "亭",
        "林": "玲", "晨": "程", "涵": "航", "心": "星", "新": "兴", "华": "花", "强": "墙", "杰": "节"}
ROADS = ["清禾路", "望江路", "钱塘路", "云栖路", "凤起路"]
COMPOUNDS = ["梧桐苑", "翠竹园", "金桂公寓", "钱塘人家", "云栖小区", "望江新村"]
PREFIXES = ["", "", "杭州市上城区", "浙江省杭州市上城区", "上城区", "清禾街道"]
CN_NUM = "零一二三四五六七八九十"
FULL = str.maketrans("0123456789", "０１２３４５６７８９")
WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
CHECK = "10X98765432"


def id_check(body: str) -> str:
    return CHECK[sum(int(c) * w for c, w in zip(body, WEIGHTS, strict=True)) % 11]


@dataclass
class Person:
    key: str
    name: str
    sex: str
    birth: date
    id_number: str
    phone: str
    place: tuple[str, str, int, int, int]  # kind ("road"/"compound"), label, building, unit, room


def make_people(rng: random.Random, n: int) -> list[Person]:
    places: list[tuple[str, str, int, int, int]] = []
    for road in ROADS:
        for door in rng.sample(range(1, 200), 4):
            places += [("road", f"{road}{door}号", b, u, f * 100 + r) for b in (1, 2, 3) for u in (1, 2)
                       for f in range(1, 7) for r in (1, 2)]
    for compound in COMPOUNDS:
        places += [("compound", compound, b, u, f * 100 + r) for b in range(1, 9) for u in (1, 2, 3)
                   for f in range(1, 7) for r in (1, 2)]
    people: list[Person] = []
    seen_ids: set[str] = set()
    while len(people) < n:
        sex = rng.choice("男女")
        name = rng.choice(SURNAMES) + rng.choice(GIVEN)
        birth = date(1935, 1, 1) + timedelta(days=rng.randrange(0, 365 * 85))
        place = rng.choice(places)
        body = f"330102{birth:%Y%m%d}{rng.randrange(0, 100):02d}{rng.choice('13579' if sex == '男' else '02468')}"
        if body in seen_ids:
            continue
        seen_ids.add(body)
        phone = f"1{rng.choice('3578')}{rng.randrange(10**8, 10**9)}" if rng.random() < 0.85 else ""
        people.append(Person(f"p{len(people):05d}", name, sex, birth, body + id_check(body), phone, place))
        # Namesakes: another person of the same name (and sex) in the same building, other birth and ID.
        if rng.random() < 0.04 and len(people) < n:
            kind, label, b, u, _room = place
            birth2 = date(1935, 1, 1) + timedelta(days=rng.randrange(0, 365 * 85))
            body2 = f"330102{birth2:%Y%m%d}{rng.randrange(0, 100):02d}{rng.choice('13579' if sex == '男' else '02468')}"
            if body2 not in seen_ids:
                seen_ids.add(body2)
                room2 = rng.choice([r for k, lb, bb, uu, r in places if lb == label and bb == b])
                people.append(Person(f"p{len(people):05d}", name, sex, birth2, body2 + id_check(body2),
                                     f"1{rng.choice('3578')}{rng.randrange(10**8, 10**9)}", (kind, label, b, u, room2)))
    return people


def address(rng: random.Random, place: tuple[str, str, int, int, int], errors: list[str]) -> str:
    _kind, label, b, u, room = place
    form = rng.randrange(7)
    if form == 0:
        text = f"{label}{b}幢{u}单元{room}室"
    elif form == 1:
        text = f"{label}{b}栋{u}单元{room}"
    elif form == 2:
        text = f"{label}{b}号楼{u}单元{room}室"
    elif form == 3:
        text = f"{label.removesuffix('号')}-{b}-{u}-{room}" if label.endswith("号") else f"{label}{b}-{u}-{room}"
        errors.append("address_dash")
    elif form == 4:
        text = f"{label}{CN_NUM[b]}栋{CN_NUM[u]}单元{room}室"
        errors.append("address_chinese_numerals")
    elif form == 5:
        text = f"{label}{b}幢{u}单元{room}室".translate(FULL)
        errors.append("address_fullwidth")
    else:
        text = f"{label}{b}幢{u}单元{room}室"
    prefix = rng.choice(PREFIXES)
    if prefix:
        errors.append("address_prefix")
    return prefix + text


def noisy_name(rng: random.Random, name: str, errors: list[str], rate: float) -> str:
    roll = rng.random()
    if roll < rate:
        positions = [i for i in range(1, len(name)) if any(name[i] in g and len(g) > 1 for g in HOMOPHONES)]
        if positions:
            i = rng.choice(positions)
            group = next(g for g in HOMOPHONES if name[i] in g)
            errors.append("name_homophone")
            return name[:i] + rng.choice([c for c in group if c != name[i]]) + name[i + 1:]
    elif roll < rate * 1.5:
        positions = [i for i in range(1, len(name)) if name[i] in NEAR]
        if positions:
            i = rng.choice(positions)
            errors.append("name_one_char")
            return name[:i] + NEAR[name[i]] + name[i + 1:]
    return name


def noisy_id(rng: random.Random, id_number: str, errors: list[str], missing: float, wrong: float) -> str:
    roll = rng.random()
    if roll < missing:
        errors.append("id_missing")
        return ""
    if roll < missing + wrong:
        i = rng.randrange(6, 17)
        if rng.random() < 0.5:
            errors.append("id_typo")
            return id_number[:i] + str((int(id_number[i]) + rng.choice((1, 9))) % 10) + id_number[i + 1:]
        if id_number[i] != id_number[i + 1]:
            errors.append("id_transposed")
            return id_number[:i] + id_number[i + 1] + id_number[i] + id_number[i + 2:]
    return id_number


# file → (columns, share of people, ID missing, ID wrong, name noise)
FILES = {
    "shebao.csv": (["序号", "姓名", "性别", "公民身份号码", "出生日期", "联系电话", "居住地址"], 0.55, 0.01, 0.03, 0.03),
    "wangge.csv": (["编号", "姓名", "性别", "证件号", "手机", "现住址"], 0.7, 0.12, 0.04, 0.04),
    "sqmd.csv": (["序号", "姓名", "性别", "地址"], 0.3, 0.0, 0.0, 0.04),
    "weijian.csv": (["序号", "姓名", "身份证", "出生年月日", "电话", "家庭住址"], 0.4, 0.05, 0.05, 0.04),
}
DEFINITIONS = {
    "shebao.csv": ("dev_shebao", "人社", {"姓名": "name", "性别": "sex", "公民身份号码": "id_number",
                                          "出生日期": "birth_date", "联系电话": "phone", "居住地址": "address"}),
    "wangge.csv": ("dev_wangge", "综治", {"姓名": "name", "性别": "sex", "证件号": "id_number", "手机": "phone",
                                          "现住址": "address"}),
    "sqmd.csv": ("dev_sqmd", "其他", {"姓名": "name", "性别": "sex", "地址": "address"}),
    "weijian.csv": ("dev_weijian", "卫健", {"姓名": "name", "身份证": "id_number", "出生年月日": "birth_date",
                                            "电话": "phone", "家庭住址": "address"}),
}


def generate(seed: int, persons: int, out: Path) -> None:
    rng = random.Random(seed)
    people = make_people(rng, persons)
    out.mkdir(parents=True, exist_ok=True)
    truth_rows, noise_rows = [], []
    for file_name, (columns, share, id_missing, id_wrong, name_rate) in FILES.items():
        chosen = [p for p in people if rng.random() < share]
        # 1 % duplicate rows inside a file (corrupted independently).
        chosen += [rng.choice(chosen) for _ in range(len(chosen) // 100)]
        rng.shuffle(chosen)
        with (out / file_name).open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            for n, person in enumerate(chosen, start=1):
                errors: list[str] = []
                name = noisy_name(rng, person.name, errors, name_rate)
                cells = {"name": name, "sex": person.sex,
                         "id": noisy_id(rng, person.id_number, errors, id_missing, id_wrong),
                         "birth": rng.choice([f"{person.birth:%Y-%m-%d}", f"{person.birth:%Y%m%d}",
                                              f"{person.birth.year}年{person.birth.month}月{person.birth.day}日"]),
                         "phone": person.phone if rng.random() < 0.9 else "",
                         "address": address(rng, person.place, errors)}
                if file_name == "sqmd.csv":
                    errors.append("name_sex_address_only")
                if not cells["phone"] and person.phone:
                    errors.append("phone_missing")
                values = {"序号": str(n), "编号": f"WG{n:06d}", "姓名": cells["name"], "性别": cells["sex"],
                          "公民身份号码": cells["id"], "证件号": cells["id"], "身份证": cells["id"],
                          "出生日期": cells["birth"], "出生年月日": cells["birth"], "联系电话": cells["phone"],
                          "手机": cells["phone"], "电话": cells["phone"], "居住地址": cells["address"],
                          "现住址": cells["address"], "地址": cells["address"], "家庭住址": cells["address"]}
                writer.writerow([values[c] for c in columns])
                truth_rows.append((file_name, "", n + 1, person.key))
                noise_rows += [(file_name, "", n + 1, e) for e in errors]
    namesakes: dict[tuple[str, str, int], list[str]] = {}
    for p in people:
        namesakes.setdefault((p.name, p.place[1], p.place[2]), []).append(p.key)
    shared = {k for keys in namesakes.values() if len(keys) > 1 for k in keys}
    noise_rows += [(f, s, r, "namesake_same_building") for f, s, r, key in truth_rows if key in shared]
    with (out / "truth.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "sheet", "row_number", "person_key"])
        writer.writerows(truth_rows)
    with (out / "noise_log.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "sheet", "row_number", "error_class"])
        writer.writerows(noise_rows)
    definitions = HERE / "definitions"
    definitions.mkdir(exist_ok=True)
    plan = ["[[imports]]\nfile = \"%s\"\ndefinition = \"%s.toml\"\n" % (f, DEFINITIONS[f][0]) for f in FILES]
    (definitions / "plan.toml").write_text("# The dev set's import order.\n" + "\n".join(plan), encoding="utf-8")
    for file_name, (code, department, columns_map) in DEFINITIONS.items():
        lines = [f'code = "{code}"', f'name = "{department}名单(开发集)"', f'department = "{department}"',
                 'format = "csv"', "", "[columns]"] + [f'"{k}" = "{v}"' for k, v in columns_map.items()]
        (definitions / f"{code}.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--persons", type=int, default=1500)
    parser.add_argument("--out", type=Path, default=HERE / "out")
    args = parser.parse_args()
    generate(args.seed, args.persons, args.out)


if __name__ == "__main__":
    main()
