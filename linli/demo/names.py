"""Names for demo data: people by generation, compounds, roads, shops.

Surname weights follow the national ranking, with the Zhejiang-typical names (沈, 俞, 楼,
应, 章, 钱 …) raised for registered locals. Given names follow the fashions of each
birth cohort (秀英 and 建国 for the old, 子涵 and 浩然 for children).
"""

from __future__ import annotations

import bisect
import itertools
import random
from typing import Final

# (surname, national weight, Zhejiang weight) — weights are rough per-mille shares.
_SURNAMES: Final = (
    ("王", 72, 60), ("李", 70, 35), ("张", 68, 45), ("刘", 54, 18), ("陈", 45, 70),
    ("杨", 31, 25), ("黄", 23, 22), ("赵", 20, 12), ("吴", 20, 38), ("周", 19, 35),
    ("徐", 16, 38), ("孙", 15, 15), ("马", 12, 8), ("朱", 12, 25), ("胡", 11, 25),
    ("郭", 10, 6), ("何", 9, 18), ("高", 9, 8), ("林", 9, 20), ("罗", 8, 5),
    ("郑", 8, 15), ("梁", 7, 4), ("谢", 6, 6), ("宋", 6, 5), ("唐", 6, 6), ("许", 6, 12),
    ("韩", 5, 3), ("冯", 5, 5), ("邓", 5, 3), ("曹", 5, 5), ("彭", 5, 3), ("曾", 5, 3),
    ("肖", 4, 3), ("田", 4, 2), ("董", 4, 6), ("袁", 4, 5), ("潘", 4, 10), ("于", 4, 2),
    ("蒋", 4, 12), ("蔡", 4, 8), ("余", 4, 10), ("杜", 4, 3), ("叶", 4, 15), ("程", 4, 4),
    ("苏", 4, 3), ("魏", 4, 3), ("吕", 3, 5), ("丁", 3, 5), ("任", 3, 3), ("沈", 3, 20),
    ("姚", 3, 8), ("卢", 3, 4), ("姜", 3, 4), ("崔", 3, 1), ("钟", 3, 3), ("谭", 3, 1),
    ("陆", 3, 10), ("汪", 3, 10), ("范", 3, 4), ("金", 3, 14), ("石", 3, 2), ("廖", 2, 1),
    ("贾", 2, 1), ("夏", 2, 4), ("韦", 2, 1), ("付", 2, 1), ("方", 2, 12), ("白", 2, 1),
    ("邹", 2, 2), ("孟", 2, 1), ("熊", 2, 1), ("秦", 2, 2), ("邱", 2, 3), ("江", 2, 4),
    ("尹", 2, 1), ("薛", 2, 2), ("闫", 2, 0.2), ("段", 2, 0.5), ("雷", 2, 1), ("侯", 2, 1),
    ("龙", 2, 0.5), ("史", 2, 2), ("陶", 2, 3), ("黎", 1, 0.5), ("贺", 1, 1), ("顾", 1, 5),
    ("毛", 1, 6), ("郝", 1, 0.3), ("龚", 1, 3), ("邵", 1, 6), ("万", 1, 1), ("钱", 1, 8),
    ("严", 1, 4), ("覃", 1, 0.1), ("武", 1, 0.5), ("戴", 1, 4), ("莫", 1, 2), ("孔", 1, 2),
    ("向", 1, 0.5), ("汤", 1, 3), ("俞", 0.5, 8), ("楼", 0.2, 5), ("应", 0.3, 5),
    ("章", 0.5, 6), ("屠", 0.2, 2), ("诸葛", 0.05, 0.3), ("欧阳", 0.2, 0.3), ("司马", 0.02, 0.05),
)

# Given names per birth cohort: (first birth year, male names, female names).
_COHORTS: Final = (
    (0,
     ("福根 金根 阿毛 德胜 长根 国良 荣生 文华 志明 树林 宝根 根发 永康 德明 国华 瑞林 世昌 传贵 "
     "阿大 根宝 鑫泉 兴发 炳炎 德顺 云龙 善才 仁和 家驹 士杰 锦华"),
     ("秀英 桂英 玉英 凤英 淑珍 秀珍 桂兰 秀兰 玉兰 翠花 月娥 杏娣 金娣 彩凤 美娟 素珍 宝娣 雪娥 "
     "菊英 招娣 小妹 爱珍 月英 阿娥 根娣 秀琴 杏花 兰英 美仙 金凤")),
    (1949,
     ("建国 建华 国强 国庆 卫国 跃进 建军 建平 志强 国平 新民 永明 德华 文斌 立新 援朝 解放 "
     "胜利 建中 伟民 建设 和平 光明 海林 国民 金龙 春林 振华 建新 国祥"),
     ("秀英 玉珍 桂芳 美华 丽华 红英 淑芬 建英 秀芳 卫红 爱华 素芬 小英 月仙 彩霞 春花 惠珍 "
     "玲娣 凤仙 美芳 建萍 国英 巧英 菊芬 素娟 彩娣 丽娟 月华 美玲 秀娟")),
    (1966,
     ("伟 勇 军 强 斌 明 华 建军 卫东 红军 海涛 志刚 建伟 晓东 国栋 永刚 立军 东升 春雷 宏伟 "
     "海峰 卫平 建明 向东 文军 志华 伟东 国伟 小平 建荣"),
     ("丽 敏 静 红 燕 霞 萍 芳 海燕 晓红 丽萍 红梅 雪梅 建红 卫红 晓燕 春燕 秀红 小红 丽娟 "
     "美琴 亚萍 雪芳 利萍 慧芳 晓梅 素萍 红霞 玉萍 丽君")),
    (1980,
     ("磊 涛 杰 超 鹏 浩 斌 俊 峰 晓峰 俊杰 文杰 志伟 伟杰 建锋 海波 振宇 家豪 立伟 晨 凯 亮 "
     "阳 剑 波 晓明 旭东 佳伟 云飞 天宇"),
     ("婷 婷婷 丹 洁 倩 静 佳 雪 颖 琳 晓燕 丽娜 佳佳 晓丽 蕾 艳 燕 莉 倩倩 慧 晶晶 露 娜 敏 "
     "丹丹 佳丽 雯 晓雪 婷玉 一鸣")),
    (1995,
     ("宇 昊 浩 睿 博文 子豪 宇航 俊豪 浩宇 天佑 宇轩 家乐 嘉豪 子健 志豪 俊熙 梓豪 明轩 "
     "皓轩 思远 宇杰 泽宇 一帆 晨阳 鑫 博 昊天 文博 楷 子扬"),
     ("欣怡 佳怡 雨欣 思琪 梦琪 雨萱 诗涵 佳琪 紫涵 可欣 婧 怡 琪 悦 雯 思雨 欣妍 心怡 梦瑶 "
     "晓雯 雨婷 诗琪 钰 嘉怡 静怡 语嫣 佳颖 雨晴 舒婷 琦")),
    (2010,
     ("浩然 子轩 宇轩 梓睿 一诺 沐宸 浩宇 奕辰 宸 梓轩 俊熙 睿泽 煜祺 子墨 铭泽 景行 承泽 "
     "锦程 亦辰 皓宇 子涵 梓航 宇辰 思源 瑞霖 嘉懿 晨曦 锦轩 辰逸 泽楷"),
     ("子涵 欣怡 梓萱 一诺 雨桐 诗涵 梓涵 若汐 可馨 语汐 沐晴 芷若 依诺 梓沫 安然 思涵 语桐 "
     "悦彤 知夏 芊芊 梓琪 欣妍 可欣 若曦 雨涵 佳琪 诗琪 紫萱 一一 亦菲")),
)

# Foreign residents keep their passport spelling.
FOREIGN_NAMES: Final = (
    "KIM MINJUN", "LEE SEOYEON", "PARK JIHOON", "TANAKA YUKI", "SATO HARUTO", "SUZUKI AOI",
    "SMITH JOHN", "JOHNSON EMMA", "BROWN OLIVER", "MULLER ANNA", "SCHMIDT LUKAS",
    "NGUYEN VAN AN", "TRAN THI MAI", "DUBOIS CAMILLE", "ROSSI MARCO", "GARCIA LUCIA",
    "IVANOV DMITRY", "PETROVA ANNA", "SILVA PEDRO", "KHAN AYESHA", "WILSON JAMES",
    "MARTIN LEA", "YAMAMOTO KEN", "CHOI YUNA",
)


class NameMaker:
    """Chinese names by origin (Zhejiang local or elsewhere), sex and birth year."""

    def __init__(self) -> None:
        names = [s for s, _, _ in _SURNAMES]
        self._surnames = names
        self._cum_national = list(itertools.accumulate(n for _, n, _ in _SURNAMES))
        self._cum_local = list(itertools.accumulate(z for _, _, z in _SURNAMES))
        self._cohorts = [(start, male.split(), female.split()) for start, male, female in _COHORTS]
        self._cohort_starts = [start for start, _, _ in _COHORTS]

    def surname(self, rng: random.Random, *, local: bool) -> str:
        cumulative = self._cum_local if local else self._cum_national
        return self._surnames[bisect.bisect(cumulative, rng.random() * cumulative[-1])]

    def given(self, rng: random.Random, *, male: bool, birth_year: int) -> str:
        index = bisect.bisect(self._cohort_starts, birth_year) - 1
        # A tenth of people carry a name of the neighbouring cohort: fashions overlap.
        if rng.random() < 0.1:
            index = min(max(index + rng.choice((-1, 1)), 0), len(self._cohorts) - 1)
        _, male_names, female_names = self._cohorts[index]
        pool = male_names if male else female_names
        name = rng.choice(pool)
        # Recombining two names' characters widens the pool without odd results.
        if len(name) == 2 and rng.random() < 0.45:
            other = rng.choice(pool)
            name = name[0] + other[-1]
        return name

    def full(self, rng: random.Random, *, male: bool, birth_year: int, local: bool) -> str:
        return self.surname(rng, local=local) + self.given(rng, male=male, birth_year=birth_year)


# Roads of the old city south-east of the West Lake.
ROADS: Final = (
    "望江路", "近江路", "婺江路", "秋涛路", "江城路", "复兴路", "清泰街", "海潮路", "候潮路",
    "南星路", "美政路", "甬江路", "新塘路", "钱江路", "始版桥直街", "望江东路", "凤山路",
    "建国南路", "江锦路", "水澄桥路", "馒头山路", "新开河路", "紫花埠路", "景芳路",
)

_COMPOUND_ROOTS: Final = (
    "近江", "婺江", "望江", "南星", "秋涛", "江城", "海潮", "候潮", "美政", "甬江", "新塘", "景江",
    "钱塘", "凤凰", "紫阳", "清波", "复兴", "始版桥", "双菱", "红梅", "江锦", "水澄", "之江",
)
_COMPOUND_SUFFIXES: Final = (
    "花园", "新村", "家园", "东园", "西园", "南苑", "北苑", "公寓", "小区", "雅苑", "名邸", "嘉园",
)
_COMPOUND_SPECIAL: Final = (
    "幸福里", "杨柳郡", "春江花月", "钱塘山水", "江锦花园", "绿城江南里", "金色江南", "景和苑",
    "东方郡", "望江府", "月明苑", "南宋御街里",
)
_PHASES: Final = ("", "二期", "三期", "四期", "五期")


def compound_names(rng: random.Random) -> list[str]:
    """Every compound name once, shuffled; callers cycle through it (adding phases)."""
    names = [r + s for r in _COMPOUND_ROOTS for s in _COMPOUND_SUFFIXES] + list(_COMPOUND_SPECIAL)
    rng.shuffle(names)
    return [name + phase for phase in _PHASES for name in names]


SHOP_TRADES: Final = (
    ("便利店", 10), ("超市", 5), ("面馆", 6), ("馄饨店", 3), ("小吃店", 6), ("快餐店", 5),
    ("水果店", 5), ("理发店", 6), ("美容院", 3), ("药店", 4), ("五金店", 3), ("干洗店", 2),
    ("烟酒店", 4), ("早餐店", 5), ("菜馆", 5), ("奶茶店", 4), ("蛋糕店", 2), ("修车铺", 2),
    ("房产中介", 3), ("彩票店", 2), ("文具店", 2), ("花店", 2), ("眼镜店", 1), ("茶叶店", 2),
    ("洗衣店", 1), ("宠物店", 1), ("棋牌室", 2), ("足浴店", 1), ("母婴店", 1), ("手机维修", 2),
)
SHOP_BRANDS: Final = (
    "联华", "华润万家", "物美", "全家", "罗森", "喜士多", "十足", "知味观", "新白鹿", "外婆家",
    "老娘舅", "杭州酒家", "奎元馆", "方回春堂", "九州大药房", "海王星辰", "蜜雪冰城", "一点点",
)
RESTAURANT_FOODS: Final = ("小笼包", "馄饨", "片儿川", "葱包桧", "生煎", "拌川", "盖浇饭", "烧饼")
