"""One-sentence search latency on a 1,000-item catalogue against a naive scan, same run.

    .venv/bin/python -m benchmarks.bench_search_items [--items 1000] [--repeat 5]

The catalogue is the 117 real seed items plus generated, realistic ones up to ``--items``:
sub-items of the real ones (变更, 注销, 停发, 信息查询 … as 政务服务事项清单 list them) and items
of departments the seed does not cover (税务, 市场监管, 交通运输, 教育, 文旅, 自然资源 …).
Every phrasing of ``benchmarks/data/one_sentence_eval.jsonl`` is a query; timings are warm
(index built, jieba loaded) and per answer (``OneSentenceIndex.answer``: ranking and the
no-match decision); accuracy counts the lines that have an item, an item-less answer as a miss.

Baseline: what a system without an index does — scan every item and score it by how many
of the query's characters occur in its name (×3), keywords, conditions and materials
(``icontains``-style, plain Python). Accuracy of both on the big catalogue is printed too.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable, Sequence

from benchmarks.eval_one_sentence import Case, load_cases, rank_of
from benchmarks.harness import Result, percentile, report
from linli.catalogue.data.items import seed_item_docs
from linli.catalogue.data.synonyms import STOPWORDS
from linli.catalogue.search_index import ItemDoc, OneSentenceIndex, SearchHit, normalise, tokenizer

SUB_ACTIONS = ("信息变更", "注销", "停发", "恢复发放", "信息查询", "补发", "年度复核", "异议申诉")
OTHER_DEPARTMENTS: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    "税务": (("个人所得税", "房产税", "城镇土地使用税", "契税", "增值税发票", "个体工商户定额", "车船税", "印花税"),
             ("申报", "减免申请", "代开", "退税", "登记", "核定", "完税证明开具"), "纳税人 报税 发票 税款"),
    "市场监管": (("食品经营许可", "小作坊登记", "药品零售许可", "计量器具检定", "特种设备使用登记", "商标质押",
                  "广告发布登记", "网络交易经营者"), ("新办", "变更", "延续", "注销", "补证"), "经营者 许可证 执照"),
    "交通运输": (("道路运输经营许可", "出租汽车驾驶员从业资格", "网约车运输证", "货运车辆营运证", "公交IC卡",
                  "停车泊位", "超限运输车辆通行"), ("申请", "换证", "注销", "年审", "补办"), "车辆 驾驶员 运输"),
    "教育": (("民办学校办学许可", "教师资格认定", "校外培训机构", "学籍转出", "中小学生转学", "学前教育资助",
              "普通话水平测试"), ("申请", "变更", "认定", "证明开具", "注销"), "学校 学生 教师 学籍"),
    "文旅": (("营业性演出许可", "娱乐场所经营许可", "网吧经营许可", "旅行社设立", "文物修缮", "公共图书馆借阅证",
              "非遗项目申报"), ("审批", "变更", "备案", "补证"), "文化 演出 旅游 场所"),
    "自然资源": (("不动产首次登记", "不动产转移登记", "不动产抵押登记", "宅基地使用权", "建设用地规划许可",
                  "林木采伐许可", "地质灾害危险性评估"), ("申请", "变更登记", "注销登记", "查询", "更正登记"),
                 "房产 土地 不动产 产权"),
    "生态环境": (("建设项目环评", "排污许可", "危险废物转移", "辐射安全许可", "餐饮油烟净化设施"),
                 ("审批", "备案", "变更", "延续"), "环境 排放 污染"),
    "应急管理": (("危险化学品经营许可", "烟花爆竹零售许可", "安全生产标准化", "应急预案"),
                 ("审批", "延期", "备案", "变更"), "安全 危化品 消防"),
    "农业农村": (("农机购置补贴", "动物防疫条件合格证", "渔业捕捞许可", "农药经营许可", "耕地地力保护补贴"),
                 ("申请", "发放", "变更", "注销"), "农户 农民 种植 养殖"),
    "卫健": (("医师执业注册", "护士执业注册", "公共场所卫生许可", "放射诊疗许可", "母婴保健技术服务"),
             ("首次注册", "变更", "延续", "注销"), "医疗机构 执业 卫生"),
    "气象": (("雷电防护装置检测", "升放无人驾驶自由气球", "气象灾害证明"), ("审批", "备案", "开具"), "天气 防雷"),
    "档案": (("婚姻档案查询", "知青档案查询", "工龄档案查询", "招工档案查询"), ("出具证明", "复制"), "档案 证明 查档"),
}


def generated_items(count: int, real: Sequence[ItemDoc], *, seed: int = 2026) -> list[ItemDoc]:
    """``count`` realistic extra items: sub-items of real ones and other departments' items."""
    rng = random.Random(seed)
    out: list[ItemDoc] = []
    subs = [(doc, action) for doc in real for action in SUB_ACTIONS]
    rng.shuffle(subs)
    for doc, action in subs[: count * 2 // 5]:
        out.append(ItemDoc(
            code=f"{doc.code}-{SUB_ACTIONS.index(action) + 1:02d}", name=f"{doc.name}（{action}）",
            department=doc.department, keywords=action,
            conditions=f"已办理{doc.name}的对象，需{action}的。", materials=doc.materials[:2],
        ))
    others = [(dept, obj, action, kw) for dept, (objs, actions, kw) in OTHER_DEPARTMENTS.items()
              for obj in objs for action in actions]
    rng.shuffle(others)
    serial = 0
    while len(out) < count:
        dept, obj, action, kw = others[serial % len(others)]
        round_ = serial // len(others)
        serial += 1
        suffix = "" if round_ == 0 else f"（{('滨江', '西湖', '拱墅', '上城', '萧山')[round_ % 5]}区）"
        out.append(ItemDoc(
            code=f"X{serial:04d}", name=f"{obj}{action}{suffix}", department=dept, keywords=kw,
            conditions=f"需要办理{obj}{action}的单位或个人，符合{dept}部门规定条件。",
            materials=("营业执照", "法定代表人身份证明", f"{obj}申请书"),
        ))
    return out


class NaiveScan:
    """Score every item by the query characters found in its text (no index)."""

    def __init__(self, items: Sequence[ItemDoc]) -> None:
        self.items = list(items)
        self._texts = [
            (doc, normalise(doc.name).replace(" ", ""),
             normalise(" ".join((doc.keywords, doc.conditions, *doc.materials))).replace(" ", ""))
            for doc in items
        ]

    def search(self, query: str, *, limit: int = 5) -> list[SearchHit]:
        chars = {c for c in normalise(query).replace(" ", "") if c not in STOPWORDS}
        if not chars:
            return []
        scored = []
        for doc, name, rest in self._texts:
            score = sum(3 for c in chars if c in name) + sum(1 for c in chars if c in rest)
            if score:
                scored.append((score, doc))
        scored.sort(key=lambda pair: -pair[0])
        return [SearchHit(d.item_id, d.code, d.name, float(s), ()) for s, d in scored[:limit]]


def timings(search: Callable[[str], object], queries: Sequence[str], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        for query in queries:
            started = time.perf_counter()
            search(query)
            samples.append((time.perf_counter() - started) * 1000)
    return samples


def accuracy(search: Callable[[str], list[SearchHit]], cases: Sequence[Case]) -> tuple[float, float]:
    ranks = [rank_of(search(case.query), case.expect) for case in cases]
    return (sum(r == 1 for r in ranks) / len(cases), sum(r is not None for r in ranks) / len(cases))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)

    tokenizer()  # load jieba once, outside every timing
    real = seed_item_docs()
    catalogue = real + generated_items(max(0, args.items - len(real)), real)
    started = time.perf_counter()
    index = OneSentenceIndex(catalogue)
    build_s = time.perf_counter() - started
    naive = NaiveScan(catalogue)
    every = load_cases()
    queries = [case.query for case in every]
    cases = [case for case in every if case.expect]  # accuracy over answerable lines only

    def linli(q: str) -> list[SearchHit]:
        # What the page and the API call: the ranking and the no-match decision.
        return list(index.answer(q, limit=3).hits)

    def baseline(q: str) -> list[SearchHit]:
        return naive.search(q, limit=3)

    for query in queries:  # warm caches (pinyin, jieba) on both paths
        linli(query)
        baseline(query)
    ours = timings(linli, queries, args.repeat)
    theirs = timings(baseline, queries, args.repeat)
    top1, top3 = accuracy(linli, cases)
    base1, base3 = accuracy(baseline, cases)
    p50, p99 = percentile(ours, 50), percentile(ours, 99)
    print(f"catalogue {len(catalogue)} items, {len(queries)} queries × {args.repeat}; index built in {build_s:.2f}s")
    print(f"accuracy on {len(catalogue)} items: linli top-1 {top1:.1%} top-3 {top3:.1%}; "
          f"naive top-1 {base1:.1%} top-3 {base3:.1%}\n")
    results = [
        Result("one-sentence search p50", len(catalogue), "ms", p50, percentile(theirs, 50),
               baseline_name="character-overlap scan over every item (plain Python)", higher_is_better=False,
               goal="< 20 ms", goal_met=p50 < 20),
        Result("one-sentence search p99", len(catalogue), "ms", p99, percentile(theirs, 99),
               baseline_name="character-overlap scan over every item (plain Python)", higher_is_better=False,
               goal="< 20 ms", goal_met=p99 < 20),
        Result("one-sentence top-1 accuracy", len(catalogue), "%", top1 * 100, base1 * 100,
               baseline_name="character-overlap scan", goal="≥ 85 %", goal_met=top1 >= 0.85),
        Result("one-sentence top-3 accuracy", len(catalogue), "%", top3 * 100, base3 * 100,
               baseline_name="character-overlap scan", goal="≥ 95 %", goal_met=top3 >= 0.95),
        Result("index build (cold, jieba loaded)", len(catalogue), "s", build_s, None, higher_is_better=False),
    ]
    report(results, name="one-sentence")
    return 0


if __name__ == "__main__":
    sys.exit(main())
