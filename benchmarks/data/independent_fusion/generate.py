#!/usr/bin/env python3
"""Synthetic evaluation data: one street (清禾街道, 杭州市上城区), six departmental exports.

Usage:  python generate.py --seed 7 --out out/
Needs openpyxl for the XLSX files (everything else is standard library).
Deterministic for a given seed (no hash-order dependence, fixed XLSX metadata).
"""
import argparse
import csv
import datetime as dt
import io
import os
import random
import re
import zipfile

try:
    import openpyxl
except ImportError:   # fall back to the local virtualenv next to this script (python3 -m venv .venv; pip install openpyxl)
    import sys
    _venv = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".venv", "bin", "python")
    if os.path.exists(_venv) and os.path.abspath(sys.executable) != _venv:
        os.execv(_venv, [_venv] + sys.argv)
    raise

REF = dt.date(2026, 11, 30)          # export date / age reference
STREET = "清禾街道"
DISTRICT = "上城区"
PREFIXES = ["", "", "浙江省杭州市上城区清禾街道", "杭州市上城区", "上城区清禾街道", "杭州市上城区清禾街道",
            "浙江省杭州市上城区"]

# --------------------------------------------------------------------------- world: places
COMMUNITIES = [
    {"name": "清禾社区", "road": "清禾路", "lanes": list(range(40, 132, 2)),
     "compounds": [("清禾路", 12, "清禾苑", 16, 3, 6, 2), ("清禾路", 36, "清禾新村", 14, 2, 6, 2)]},
    {"name": "钱塘社区", "road": "望潮路", "lanes": list(range(141, 231, 2)),
     "compounds": [("望潮路", 88, "钱塘小区", 12, 3, 6, 2), ("望潮路", 120, "钱塘花园", 10, 2, 11, 2)]},
    {"name": "云栖社区", "road": "云栖路", "lanes": list(range(60, 140, 2)),
     "compounds": [("云栖路", 5, "云栖家园", 9, 2, 6, 2), ("云栖路", 27, "云栖北苑", 5, 3, 18, 4)]},
]

LOCAL_REGIONS = [("330102", 40), ("330104", 20), ("330103", 14), ("330106", 5), ("330105", 5),
                 ("330122", 4), ("330127", 3), ("330183", 3), ("330281", 3), ("330621", 3)]
MIGRANT_REGIONS = [
    ("341221", "安徽省阜阳市临泉县", 10), ("341222", "安徽省阜阳市太和县", 6), ("412723", "河南省周口市商水县", 8),
    ("411521", "河南省信阳市罗山县", 5), ("362330", "江西省上饶市鄱阳县", 7), ("513030", "四川省达州市渠县", 6),
    ("522425", "贵州省毕节市织金县", 5), ("432524", "湖南省娄底市新化县", 5), ("421281", "湖北省咸宁市赤壁市", 4),
    ("330327", "浙江省温州市苍南县", 5), ("330681", "浙江省绍兴市诸暨市", 3), ("320382", "江苏省徐州市邳州市", 3),
    ("372925", "山东省菏泽市单县", 3), ("450881", "广西壮族自治区贵港市桂平市", 3)]
UYGHUR_REGION = ("650102", "新疆维吾尔自治区乌鲁木齐市天山区")
TOWNS = ["城关", "新集", "杨桥", "老集", "王庄", "黄岭", "柳林", "石桥", "高庙", "白沙", "龙潭", "双河", "桥头", "马坡"]
VILLAGES = ["李庄", "张湾", "大王", "刘楼", "陈家", "后岗", "前进", "团结", "新民", "河西", "东风", "杨树", "北塘", "桃园"]

# --------------------------------------------------------------------------- names
def _w(s):
    out = []
    for tok in s.split():
        n, w = tok.split(":") if ":" in tok else (tok, "1")
        out.append((n, float(w)))
    return out

SUR_LOCAL = _w("陈:8 王:7 张:5 李:4 徐:4 金:3 沈:3 周:3 吴:3 朱:3 杨:2 黄:2 胡:2 俞:2 钱:2 孙:2 章:2 潘:2 "
               "何:2 蒋:2 方:2 叶:2 汪:2 刘:2 赵 郑 马 冯 丁 姚 陆 施 范 傅 邵 楼 应 董 韩 戴 严 毛 钟 屠 卢 许 袁 "
               "萧:0.4 阎:0.3 欧阳:0.2 诸葛:0.1")
SUR_MIG = _w("王:6 李:6 张:6 刘:5 陈:3 杨:3 赵:2 黄:2 周:2 吴:2 孙:2 马:2 胡:2 郭:2 何:2 高:2 罗:2 林 郑 梁 "
             "谢 宋 唐 韩 冯 邓 曹 彭 曾 田 董 袁 蔡 余 杜 程 魏 吕 任 姜 谭 雷 龙 熊 覃:0.5 韦:0.5 闫:0.5")
GIVEN = {
    ("M", 0): "福根 金林 德明 国祥 荣华 根生 水根 宝林 忠良 正德 树林 长生 洪发 顺发 德福 阿根 土根 有才 志贤 炳荣 "
              "金根 阿毛 和尚 仁康",
    ("F", 0): "桂英 秀英 凤英 美娟 月娥 杏娣 阿香 菊英 兰英 素珍 彩凤 秀珍 爱娣 金娣 宝娣 雪琴 玉珍 翠英 招娣 月仙 "
              "杏花 阿珍",
    ("M", 1): "建国 建华 国华 卫东 建平 志强 国庆 建军 伟民 永康 跃进 海明 新民 文华 立新 建新 德华 宏伟 胜利 振华",
    ("F", 1): "美华 丽华 秀芳 红英 美玲 玉兰 爱华 建英 彩霞 惠芳 丽萍 月英 美芳 素芬 海英 小红 建芬 雅琴 凤仙 秀萍",
    ("M", 2): "伟 军 勇 斌 杰 涛 强 磊 波 刚 峰 明 辉 俊 海 健 志刚 海涛 建伟 晓东 俊杰 立伟 振宇 国强 文斌 永明 "
              "洪波 卫星 志华 海峰 伟 伟 军 洋",
    ("F", 2): "敏 静 丽 娟 燕 芳 霞 丹 红 艳 萍 娜 婷 琳 慧 晓燕 海燕 丽娟 雪芳 春燕 晓红 丽君 美芬 晓霞 佳颖 雅芳 "
              "莉 倩 颖 蕾 娜 静 芳 敏",
    ("M", 3): "浩 磊 杰 鹏 超 宇 帅 晨 阳 俊杰 浩然 宇航 子豪 天宇 家豪 志豪 文杰 晨阳 泽宇 嘉诚 逸飞 一帆 哲 子喆",
    ("F", 3): "婷 倩 雪 瑶 琪 悦 洁 佳怡 欣怡 雨婷 梦琪 思雨 佳琪 诗涵 雅婷 晓彤 雨欣 心怡 静怡 欣然 馨 欣",
    ("M", 4): "子轩 浩宇 宇轩 梓豪 浩然 睿 一鸣 梓睿 宇辰 子墨 奕辰 沐辰 俊熙 铭泽 诺 皓轩 煜 锦程 嘉佑 子喆 堃 一淼",
    ("F", 4): "子涵 梓萱 欣怡 一诺 雨桐 可馨 梓涵 语桐 思琪 若汐 诗琪 欣妍 芷若 梦瑶 沐晴 雨萱 安琪 馨怡 依依 语嫣 "
              "梓玥 祎然 欣悦",
}
GIVEN = {k: v.split() for k, v in GIVEN.items()}
COMPOSE = {   # (sex, older/younger) -> (first chars, second chars)
    ("M", 0): ("建国志文海永晓伟俊家立振胜金德荣正新卫红跃庆明学洪宏", "明华强平军林峰辉东涛杰伟斌波龙良生民荣刚祥忠勇成"),
    ("M", 1): ("子浩宇天嘉锦泽一承博思晨俊家志文明逸梓睿宏佳晓", "轩豪然航晨阳成凯楠鑫磊超诚坤辰哲涵宇睿杰铭博翔瑞"),
    ("F", 0): ("美丽秀晓海雅春佳玉月彩慧静红爱素惠金建丽小凤雪", "芳英华萍燕红娟霞琴玲珍兰凤娣仙梅莉芬琳丽娥敏"),
    ("F", 1): ("欣雨思梦诗子梓可依慧静婷佳雅晓语若一心嘉紫芷", "怡涵琪萱雪洁茹瑶悦妍彤桐菲然琳婷颖欣宁璐蕾"),
}
UYGHUR = {"M": ["买买提·艾力", "艾尔肯·吐尔逊", "阿不都热依木·买买提", "努尔兰·卡德尔"],
          "F": ["古丽娜尔·阿不都", "阿依古丽·买买提", "热依拉·艾合买提"]}
TWIN_PAIRS = {"F": [("丽", "莉"), ("晓燕", "晓霞"), ("婷", "婧"), ("欣", "馨"), ("欣怡", "欣悦"), ("思琪", "思雨"), ("梓涵", "梓萱"), ("佳怡", "佳琪")],
              "M": [("伟", "玮"), ("晓东", "晓峰"), ("浩然", "浩宇"), ("子轩", "子墨"), ("一鸣", "一帆"), ("宇轩", "宇辰"), ("俊杰", "俊熙")]}

HOMOPHONE = {}
for grp in ["欣 馨 新 心", "伟 玮 炜 巍", "静 婧 晶", "敏 民 闽", "丽 莉 俐", "娜 那", "芳 方", "华 骅 花", "红 虹 宏 鸿",
            "军 君 钧", "明 铭 名", "峰 锋 丰", "涛 韬 滔", "洋 阳 扬", "杰 洁 婕", "婷 亭 庭", "琳 林 霖", "霞 侠",
            "燕 艳 雁", "英 瑛 莹", "梅 玫", "兰 岚 澜", "萍 平 苹", "刚 钢 纲", "波 博", "斌 彬 滨", "辉 晖 徽",
            "浩 昊 皓", "宇 雨 语 羽", "轩 萱 宣", "涵 含 寒", "怡 仪 宜 依", "琪 琦 棋 淇", "佳 嘉 家", "思 斯",
            "子 梓 紫", "俊 骏 峻", "建 健 剑", "秀 绣", "桂 贵", "珍 贞 真", "福 富", "宝 葆", "荣 蓉 容", "娟 涓 鹃",
            "玉 钰", "金 锦", "月 玥 悦", "喆 哲", "堃 坤", "淼 森", "祎 依", "颖 莹 影", "蕾 磊", "倩 茜", "瑶 遥",
            "雪 学", "晨 辰 臣", "鹏 朋", "超 朝", "磊 垒", "强 蔷", "勇 永", "国 果", "德 得", "根 耕", "生 声",
            "张 章", "徐 许", "吴 武 伍", "黄 王", "李 黎", "周 邹", "刘 柳", "杨 阳", "沈 申", "俞 余 于"]:
    g = grp.split()
    for c in g:
        HOMOPHONE.setdefault(c, [])
        HOMOPHONE[c] += [x for x in g if x != c and x not in HOMOPHONE[c]]
SHAPE = {"王": "玉", "玉": "王", "士": "土", "土": "士", "未": "末", "己": "已", "日": "曰", "傅": "付", "萧": "肖",
         "阎": "闫", "晖": "辉", "茜": "西", "娣": "弟", "琴": "芩", "凤": "风", "根": "跟", "珍": "诊", "祥": "样",
         "斌": "赋", "彩": "采", "菊": "鞠", "秀": "透", "杏": "否", "林": "材", "华": "毕", "兰": "三", "贤": "肾",
         "鸣": "呜", "睿": "容", "锦": "棉", "泽": "择", "熙": "煕", "沐": "休", "汐": "沙", "若": "苦", "萱": "宣"}

CN_DIGIT = "〇一二三四五六七八九"
FW = str.maketrans("0123456789-", "０１２３４５６７８９－")

def cn_int(n):
    d = "零一二三四五六七八九"
    if n < 10:
        return d[n]
    if n < 20:
        return "十" + (d[n % 10] if n % 10 else "")
    if n < 100:
        return d[n // 10] + "十" + (d[n % 10] if n % 10 else "")
    return "".join(d[int(c)] for c in str(n))

# --------------------------------------------------------------------------- ID numbers
W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
def check_digit(s17):
    return "10X98765432"[sum(int(a) * b for a, b in zip(s17, W)) % 11]

def make_id(region, birth, seq):
    s17 = f"{region}{birth:%Y%m%d}{seq:03d}"
    return s17 + check_digit(s17)

def to15(id18):
    return id18[:6] + id18[8:17]

# --------------------------------------------------------------------------- helpers
def wchoice(rng, items):
    tot = sum(w for _, w in items)
    r = rng.random() * tot
    for it, w in items:
        r -= w
        if r <= 0:
            return it
    return items[-1][0]

def age_on(b, ref=REF):
    return ref.year - b.year - ((ref.month, ref.day) < (b.month, b.day))

def era(year):
    return 0 if year < 1950 else 1 if year < 1970 else 2 if year < 1990 else 3 if year < 2006 else 4

def rand_birth(rng, amin, amax):
    start = dt.date(REF.year - amax - 1, REF.month, REF.day) + dt.timedelta(days=1)
    end = dt.date(REF.year - amin, REF.month, REF.day)
    return start + dt.timedelta(days=rng.randrange((end - start).days + 1))

def mobile(rng):
    return rng.choice(["13", "15", "18", "17", "19", "13", "15", "18"]) + str(rng.randrange(10)) + f"{rng.randrange(10**8):08d}"

def landline(rng):
    return "0571-" + rng.choice(["86", "87", "85", "88", "89"]) + f"{rng.randrange(10**6):06d}"


class Person:
    pass


# --------------------------------------------------------------------------- population
class World:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.persons = []
        self.households = []
        self.used_ids = {}
        self.free_units = {}
        self.names_used = {}
        self.build()

    # ---- address units
    def init_units(self):
        for ci, c in enumerate(COMMUNITIES):
            units = []
            for road, no, comp, nb, nu, nf, nr in c["compounds"]:
                for b in range(1, nb + 1):
                    for u in range(1, nu + 1):
                        for f in range(1, nf + 1):
                            for r in range(1, nr + 1):
                                units.append({"type": "flat", "comm": c["name"], "road": road, "no": no, "comp": comp,
                                              "bldg": b, "unit": u, "room": f * 100 + r})
            lanes = [{"type": "lane", "comm": c["name"], "road": c["road"], "no": n, "comp": None, "bldg": None,
                      "unit": None, "room": None} for n in c["lanes"]]
            self.rng.shuffle(units)
            self.free_units[ci] = {"flat": units, "lane": lanes}

    def take_unit(self, ci, lane_p=0.06):
        fu = self.free_units[ci]
        if self.rng.random() < lane_p or not fu["flat"]:
            return self.rng.choice(fu["lane"])      # old lane houses are shared by several households
        pool = fu["flat"]
        return pool.pop(self.rng.randrange(len(pool)))

    # ---- persons
    def new_id(self, region, birth, sex):
        while True:
            seq = self.rng.randrange(0, 1000)
            if (seq % 2 == 1) != (sex == "M"):
                seq = (seq + 1) % 1000
            i = make_id(region, birth, seq)
            if i not in self.used_ids and to15(i) not in self.used_ids:
                self.used_ids[i] = 1
                self.used_ids[to15(i)] = 1
                return i

    def gen_given(self, sex, birth):
        e = era(birth.year)
        if self.rng.random() < 0.45 or e == 0:
            return self.rng.choice(GIVEN[(sex, e)])
        a, b = COMPOSE[(sex, min(e, 3) // 2)]
        g = self.rng.choice(a) + self.rng.choice(b)
        if g[0] == g[1]:
            g = g[0]
        return g

    def person(self, hh, role, sex, birth, surname=None, given=None, migrant=False, region=None):
        rng = self.rng
        p = Person()
        p.key = f"P{len(self.persons) + 1:05d}"
        p.sex, p.birth, p.role, p.hh = sex, birth, role, hh
        p.migrant = migrant
        p.eth = "汉"
        if migrant:
            code, pref = region
            p.region = code
            p.hukou_addr = (f"{pref}{rng.choice(TOWNS)}镇{rng.choice(VILLAGES)}村{rng.randrange(1, 12)}组"
                            f"{rng.randrange(1, 80)}号")
        else:
            p.region = region or wchoice(rng, LOCAL_REGIONS)
            p.hukou_addr = None  # filled = home address
        if surname is None:
            surname = wchoice(rng, SUR_MIG if migrant else SUR_LOCAL)
        p.surname = surname
        p.name = given if (given and "·" in given) else surname + (given or self.gen_given(sex, birth))
        if "·" in p.name:
            p.eth = "维吾尔"
        elif rng.random() < 0.02:
            p.eth = rng.choice(["回", "满", "畲", "土家", "苗", "壮"])
        p.id18 = self.new_id(p.region, birth, sex)
        p.id15 = to15(p.id18) if birth.year < 1984 else None
        a = age_on(birth)
        p.mobile = None
        if a >= 16:
            own = 0.97 if a < 70 else 0.7 if a < 80 else 0.35
            if rng.random() < own:
                p.mobile = mobile(rng)
        p.old_mobile = mobile(rng) if (p.mobile and rng.random() < 0.12) else None
        p.status, p.death = "alive", None
        p.alias = None
        p.twin = None
        p.prev_addr = None
        p.arrive = None
        p.permit = None
        p.relative_phone = None
        self.persons.append(p)
        hh["members"].append(p)
        return p

    def household(self, ci, migrant=False, lane_p=0.06, unit=None):
        hh = {"id": f"H{len(self.households) + 1:04d}", "ci": ci, "comm": COMMUNITIES[ci]["name"],
              "unit": unit or self.take_unit(ci, lane_p), "members": [], "migrant": migrant,
              "landline": None, "landlord": None}
        if not migrant and self.rng.random() < 0.3:
            hh["landline"] = landline(self.rng)
        self.households.append(hh)
        return hh

    def couple(self, hh, amin, amax, migrant=False, region=None):
        rng = self.rng
        hb = rand_birth(rng, amin, amax)
        h = self.person(hh, "户主", "M", hb, migrant=migrant, region=region)
        wb = hb + dt.timedelta(days=rng.randint(-365 * 2, 365 * 5))
        if age_on(wb) < 20:
            wb = dt.date(REF.year - 21, wb.month, min(wb.day, 28))
        w = self.person(hh, "配偶", "F", wb, migrant=migrant, region=region)
        if rng.random() < 0.25:   # wife as head of household in the register
            h.role, w.role = "配偶", "户主"
        return h, w

    def children(self, hh, father, mother, n, amin, amax, migrant=False, region=None, twins_p=0.0):
        rng = self.rng
        kids = []
        mb = mother.birth
        for _ in range(n):
            lo = max(amin, age_on(mb) - 40)
            hi = min(amax, age_on(mb) - 20)
            if hi < lo:
                break
            b = rand_birth(rng, lo, hi)
            sex = rng.choice("MF")
            kids.append(self.person(hh, "子女", sex, b, surname=father.surname, migrant=migrant,
                                    region=region if migrant else (father.region if rng.random() < 0.5 else "330102")))
        if kids and rng.random() < twins_p:
            k = kids[0]
            sex = k.sex
            g1, g2 = rng.choice(TWIN_PAIRS[sex])
            k.name = k.surname + g1
            t = self.person(hh, "子女", sex, k.birth, surname=father.surname, given=g2, migrant=migrant,
                            region=region if migrant else k.region)
            self.twin_ids(k, t)   # twins: consecutive sequence numbers when possible
            kids.append(t)
        return kids

    def build(self):
        rng = self.rng
        self.init_units()
        target = 6000
        types = [("elderly_couple", 14), ("elderly_single", 8), ("family", 24), ("three_gen", 12),
                 ("young_couple", 8), ("single_adult", 6), ("mig_family", 14), ("mig_group", 9), ("mig_single", 5)]
        while len(self.persons) < target:
            t = wchoice(rng, types)
            ci = wchoice(rng, [(0, 36), (1, 34), (2, 30)])
            if t == "elderly_couple":
                hh = self.household(ci, lane_p=0.15)
                h, w = self.couple(hh, 62, 93)
                hh["n_children"] = wchoice(rng, [(1, 40), (2, 35), (3, 25)])
            elif t == "elderly_single":
                hh = self.household(ci, lane_p=0.15)
                self.person(hh, "户主", wchoice(rng, [("F", 70), ("M", 30)]), rand_birth(rng, 68, 101))
                hh["n_children"] = wchoice(rng, [(0, 10), (1, 40), (2, 30), (3, 20)])
            elif t in ("family", "young_couple"):
                hh = self.household(ci)
                if t == "family":
                    h, w = self.couple(hh, 32, 58)
                    n = wchoice(rng, [(1, 60), (2, 40)])
                    self.children(hh, h, w, n, 0, 30, twins_p=0.07)
                else:
                    h, w = self.couple(hh, 24, 36)
                    if rng.random() < 0.4:
                        self.children(hh, h, w, 1, 0, 5, twins_p=0.04)
                hh["n_children"] = sum(1 for m in hh["members"] if m.role == "子女")
            elif t == "three_gen":
                hh = self.household(ci)
                h, w = self.couple(hh, 33, 55)
                g = self.person(hh, "父母", rng.choice("MF"), rand_birth(rng, age_on(h.birth) + 22,
                                                                        min(age_on(h.birth) + 36, 99)),
                                surname=h.surname)
                if rng.random() < 0.5 and g.sex == "M":
                    self.person(hh, "父母", "F", g.birth + dt.timedelta(days=rng.randint(-900, 1800)))
                self.children(hh, h, w, wchoice(rng, [(1, 65), (2, 35)]), 0, 28, twins_p=0.07)
                hh["n_children"] = sum(1 for m in hh["members"] if m.role == "子女")
            elif t == "single_adult":
                hh = self.household(ci, lane_p=0.1)
                self.person(hh, "户主", rng.choice("MF"), rand_birth(rng, 20, 62))
                hh["n_children"] = 0
            elif t == "mig_family":
                reg = wchoice(rng, [((c, p), w) for c, p, w in MIGRANT_REGIONS])
                hh = self.household(ci, migrant=True, lane_p=0.35)
                h, w = self.couple(hh, 23, 48, migrant=True, region=reg)
                self.children(hh, h, w, wchoice(rng, [(0, 25), (1, 45), (2, 30)]), 0, 17, migrant=True, region=reg,
                              twins_p=0.05)
                if rng.random() < 0.12:
                    self.person(hh, "父母", rng.choice("MF"), rand_birth(rng, 55, 78), migrant=True, region=reg)
                hh["n_children"] = 0
            elif t == "mig_group":   # unrelated workers sharing one rented flat / lane house
                hh = self.household(ci, migrant=True, lane_p=0.5)
                for _ in range(rng.randint(3, 6)):
                    reg = wchoice(rng, [((c, p), w) for c, p, w in MIGRANT_REGIONS])
                    if rng.random() < 0.03:
                        sex = rng.choice("MF")
                        self.person(hh, "合租", sex, rand_birth(rng, 20, 40), given=rng.choice(UYGHUR[sex]),
                                    surname="", migrant=True, region=UYGHUR_REGION)
                    else:
                        self.person(hh, "合租", wchoice(rng, [("M", 65), ("F", 35)]), rand_birth(rng, 18, 52),
                                    migrant=True, region=reg)
                hh["n_children"] = 0
            else:
                reg = wchoice(rng, [((c, p), w) for c, p, w in MIGRANT_REGIONS])
                hh = self.household(ci, migrant=True, lane_p=0.3)
                self.person(hh, "户主", rng.choice("MF"), rand_birth(rng, 18, 55), migrant=True, region=reg)
                hh["n_children"] = 0
        # extra twin pairs likely to be listed: adult migrant brothers sharing a room, elderly sisters
        for g1, g2 in [("建军", "建国"), ("海峰", "海涛"), ("大伟", "小伟")]:
            reg = wchoice(rng, [((c, p), w) for c, p, w in MIGRANT_REGIONS])
            hh = self.household(rng.randrange(3), migrant=True, lane_p=0.5)
            b = rand_birth(rng, 22, 40)
            sur = wchoice(rng, SUR_MIG)
            a1 = self.person(hh, "合租", "M", b, surname=sur, given=g1, migrant=True, region=reg)
            a2 = self.person(hh, "合租", "M", b, surname=sur, given=g2, migrant=True, region=reg)
            self.twin_ids(a1, a2)
            for _ in range(rng.randint(1, 3)):
                self.person(hh, "合租", "M", rand_birth(rng, 18, 50), migrant=True,
                            region=wchoice(rng, [((c, p), w) for c, p, w in MIGRANT_REGIONS]))
            hh["n_children"] = 0
        for g1, g2 in [("秀英", "秀珍"), ("桂英", "桂芳"), ("美娟", "美娣")]:
            hh = self.household(rng.randrange(3), lane_p=0.3)
            b = rand_birth(rng, 70, 88)
            sur = wchoice(rng, SUR_LOCAL)
            a1 = self.person(hh, "户主", "F", b, surname=sur, given=g1)
            a2 = self.person(hh, "其他", "F", b, surname=sur, given=g2, region=a1.region)
            self.twin_ids(a1, a2)
            hh["n_children"] = 0
        self.post()

    def twin_ids(self, k, t):
        seq = int(k.id18[14:17]) + 2
        if seq < 1000:
            cand = make_id(k.region, k.birth, seq)
            if cand not in self.used_ids:
                del self.used_ids[t.id18]
                t.id18 = cand
                t.id15 = to15(cand) if t.birth.year < 1984 else None
                self.used_ids[cand] = 1
        k.twin, t.twin = t.key, k.key

    def post(self):
        rng = self.rng
        P = self.persons
        locals_ = [h for h in self.households if not h["migrant"]]
        for hh in self.households:
            for p in hh["members"]:
                p.comm = hh["comm"]
                p.unit = hh["unit"]
                if not p.migrant:
                    p.hukou_addr = p.unit
            if hh["migrant"] and hh["members"][0].role != "合租":
                for p in hh["members"][1:]:
                    p.hukou_addr = hh["members"][0].hukou_addr
            if hh["migrant"]:
                ll = rng.choice(locals_)
                hh["landlord"] = ll["members"][0]
                arrive = REF - dt.timedelta(days=rng.randint(20, 365 * 12))
                for p in hh["members"]:
                    p.arrive = max(arrive + dt.timedelta(days=rng.randint(0, 400)) if p.role == "合租" else arrive,
                                   p.birth)
                    p.permit = f"330102{p.arrive.year}{rng.randrange(10**6):06d}"
        # forced namesakes: same common name, same community, different people
        for name, sex, cnt in [("王伟", "M", 3), ("李娜", "F", 2), ("张敏", "F", 2), ("陈静", "F", 2), ("王芳", "F", 2)]:
            ci = rng.randrange(3)
            cands = [p for p in P if p.sex == sex and COMMUNITIES[ci]["name"] == p.comm and 1965 <= p.birth.year <= 1992
                     and p.twin is None and "·" not in p.name and p.surname == name[0]]
            if len(cands) < cnt:
                cands = [p for p in P if p.sex == sex and COMMUNITIES[ci]["name"] == p.comm
                         and 1965 <= p.birth.year <= 1992 and p.twin is None and "·" not in p.name
                         and p.role in ("户主", "配偶")]
            for p in rng.sample(cands, cnt):
                p.surname, p.name = name[0], name
        # contact phones for people without a mobile: child's phone (outside street) for elderly
        for hh in self.households:
            mobs = [m.mobile for m in hh["members"] if m.mobile]
            for p in hh["members"]:
                if age_on(p.birth) >= 60 and (p.mobile is None or rng.random() < 0.2):
                    p.relative_phone = mobile(rng) if (not mobs or rng.random() < 0.5) else rng.choice(mobs)
        # former names (改名) for a few adults
        for p in rng.sample([p for p in P if age_on(p.birth) >= 25 and "·" not in p.name], 150):
            p.alias = p.surname + self.gen_given(p.sex, p.birth + dt.timedelta(days=365 * 15))
            if p.alias == p.name:
                p.alias = None
        # moved within street (address change); old address known to some departments
        movers = rng.sample([h for h in self.households if not h["migrant"]], 260)
        for hh in movers:
            old = self.take_unit(hh["ci"], 0.2) if rng.random() < 0.7 else self.take_unit(rng.randrange(3), 0.2)
            for p in hh["members"]:
                p.prev_addr = old
        # deaths (mostly 80+) and moved-out people
        old = [p for p in P if age_on(p.birth) >= 75]
        for p in rng.sample(old, 45):
            p.status = "deceased"
            p.death = REF - dt.timedelta(days=rng.randint(15, 330))
        for hh in rng.sample([h for h in self.households if not h["migrant"] and len(h["members"]) <= 3], 14):
            d = REF - dt.timedelta(days=rng.randint(30, 300))
            for p in hh["members"]:
                if p.status == "alive":
                    p.status, p.death = "moved_out", d
        # migrant departures (registration cancelled)
        for p in rng.sample([p for p in P if p.migrant], 90):
            p.status, p.death = "left", REF - dt.timedelta(days=rng.randint(10, 500))


# --------------------------------------------------------------------------- rendering
def fmt_date(d, style):
    if d is None:
        return ""
    return {"iso": f"{d:%Y-%m-%d}", "slash": f"{d.year}/{d.month}/{d.day}", "compact": f"{d:%Y%m%d}",
            "cn": f"{d.year}年{d.month}月{d.day}日", "dot": f"{d:%Y.%m.%d}", "dot_short": f"{d.year}.{d.month}.{d.day}",
            "ym_dot": f"{d:%Y.%m}", "ym_cn": f"{d.year}年{d.month}月", "ym_dash": f"{d:%Y-%m}",
            "ym_compact": f"{d:%Y%m}"}[style]

def excel_serial(d):
    return (d - dt.date(1899, 12, 30)).days

def render_addr(u, style, prefix="", fullwidth=False, comm_in=False):
    if u["type"] == "lane":
        base = f"{u['road']}{u['no']}号"
        if style == "cn":
            base = f"{u['road']}{cn_int(u['no'])}号"
        elif style in ("dash", "comp_dash", "road_dash"):
            base = f"{u['road']}{u['no']}号"
    else:
        b, un, r = u["bldg"], u["unit"], u["room"]
        if style == "formal":
            base = f"{u['road']}{u['no']}号{u['comp']}{b}幢{un}单元{r}室"
        elif style == "road":
            base = f"{u['road']}{u['no']}号{b}栋{un}单元{r}室"
        elif style == "road_dash":
            base = f"{u['road']}{u['no']}-{b}-{r}"
        elif style == "dash":
            base = f"{u['road']}{u['no']}号{b}-{un}-{r}"
        elif style == "comp":
            base = f"{u['comp']}{b}幢{un}单元{r}"
        elif style == "comp_dong":
            base = f"{u['comp']}{b}栋{un}单元{r}室"
        elif style == "comp_dash":
            base = f"{u['comp']}{b}-{un}-{r}"
        elif style == "cn":
            base = f"{u['comp']}{cn_int(b)}幢{cn_int(un)}单元{''.join(CN_DIGIT[int(c)] for c in str(r))}室"
        elif style == "cn2":
            base = f"{u['comp']}{cn_int(b)}栋{cn_int(un)}单元{''.join('零一二三四五六七八九'[int(c)] for c in str(r))}室"
        elif style == "bldg_only":   # incomplete: building only
            base = f"{u['comp']}{b}幢"
        else:
            raise ValueError(style)
    if comm_in:
        base = u["comm"] + base
    s = prefix + base
    if fullwidth:
        s = s.translate(FW)
    return s

ADDR_STYLES = ["formal", "road", "road_dash", "dash", "comp", "comp_dong", "comp_dash", "cn", "cn2"]

def fmt_phone(ph, rng, variety):
    """variety: probability of a non-plain notation"""
    if not ph:
        return "", None
    if rng.random() >= variety:
        return ph, None
    if ph.startswith("0571-"):
        num = ph[5:]
        v = rng.choice([num, f"0571{num}", f"(0571){num}", f"0571 {num}", f"0571－{num}", f"86-571-{num}"])
    else:
        v = rng.choice([f"{ph[:3]}-{ph[3:7]}-{ph[7:]}", f"{ph[:3]} {ph[3:7]} {ph[7:]}", f"+86{ph}", f"+86 {ph}",
                        f"86-{ph}", f"{ph[:3]}-{ph[3:]}", ph.translate(FW), f"{ph} "])
    return v, "phone_notation"


# --------------------------------------------------------------------------- noise
class Noiser:
    def __init__(self, rng, world, rates):
        self.rng, self.w, self.r = rng, world, rates

    def hit(self, k):
        return self.rng.random() < self.r.get(k, 0.0)

    def name(self, p, log):
        rng = self.rng
        n = p.name
        if p.alias and self.hit("name_alias"):
            log.append(("name", "name_former_name", "error", f"{n}->{p.alias}"))
            n = p.alias
        if "·" in n:
            v = rng.choice(["·", "·", "•", "．", ".", "", " "])
            if v != "·":
                log.append(("name", "name_dot_variant", "format", f"{n}"))
                n = n.replace("·", v)
        if self.hit("name_homophone"):
            idx = [i for i, c in enumerate(n) if c in HOMOPHONE and (i > 0 or rng.random() < 0.3)]
            if idx:
                i = rng.choice(idx)
                new = n[:i] + rng.choice(HOMOPHONE[n[i]]) + n[i + 1:]
                log.append(("name", "name_homophone", "error", f"{n}->{new}"))
                n = new
        if self.hit("name_typo") and len(n) >= 2 and "·" not in n:
            i = rng.randrange(1, len(n))
            if n[i] in SHAPE:
                new = n[:i] + SHAPE[n[i]] + n[i + 1:]
            elif len(n) >= 3 and rng.random() < 0.4:
                new = n[:i] + n[i + 1:]                      # dropped character
            else:
                pool = GIVEN[(p.sex, era(p.birth.year))]
                new = n[:i] + rng.choice(rng.choice(pool)) + n[i + 1:]
            if new != n:
                log.append(("name", "name_typo", "error", f"{n}->{new}"))
                n = new
        if self.hit("name_space") and len(n) >= 2:
            k = rng.random()
            if k < 0.4 and len(n) == 2:
                n = n[0] + rng.choice([" ", "  ", "\u3000"]) + n[1]
            elif k < 0.7:
                n = n + rng.choice([" ", "  ", "\u3000"])
            else:
                n = rng.choice([" ", "\u3000"]) + n
            log.append(("name", "name_whitespace", "format", repr(n)))
        return n

    def idnum(self, p, log, allow_member=True):
        """returns the recorded ID string (may be empty)"""
        rng = self.rng
        if self.hit("id_missing"):
            log.append(("id", "id_missing", "error", ""))
            return ""
        if allow_member and self.hit("id_other_member"):
            others = [m for m in p.hh["members"] if m is not p and m.status == "alive"]
            if others:
                o = rng.choice(others)
                log.append(("id", "id_other_member", "error", o.key))
                return o.id18
        if p.id15 and self.hit("id_legacy15"):
            v = p.id15
            log.append(("id", "id_legacy15", "format", ""))
        else:
            v = p.id18
        if self.hit("id_digit_typo"):
            i = rng.randrange(len(v) - 1)
            d = str((int(v[i]) + rng.randint(1, 9)) % 10)
            log.append(("id", "id_digit_typo", "error", f"pos{i + 1}"))
            v = v[:i] + d + v[i + 1:]
        elif self.hit("id_transpose"):
            opts = [i for i in range(len(v) - 2) if v[i] != v[i + 1]]
            i = rng.choice(opts)
            log.append(("id", "id_transpose", "error", f"pos{i + 1}"))
            v = v[:i] + v[i + 1] + v[i] + v[i + 2:]
        elif len(v) == 18 and self.hit("id_bad_check"):
            c = rng.choice([x for x in "0123456789X" if x != v[-1]])
            log.append(("id", "id_bad_check", "error", f"{v[-1]}->{c}"))
            v = v[:-1] + c
        if self.hit("id_notation"):
            if v.endswith("X") and rng.random() < 0.6:
                v = v[:-1] + "x"
            else:
                v = rng.choice([v + " ", " " + v, v[:6] + " " + v[6:14] + " " + v[14:], "'" + v, v.translate(FW)])
            log.append(("id", "id_notation", "format", repr(v)))
        return v

    def birth(self, p, log):
        b = p.birth
        if self.hit("birth_missing"):
            log.append(("birth", "birth_missing", "error", ""))
            return None
        if self.hit("birth_swap_dm") and b.day <= 12 and b.day != b.month:
            log.append(("birth", "birth_swap_dm", "error", ""))
            return dt.date(b.year, b.day, b.month)
        if self.hit("birth_wrong"):
            k = self.rng.random()
            if k < 0.5:
                nb = b.replace(year=b.year + self.rng.choice([-1, 1, -10, 10]), day=min(b.day, 28))
            else:
                nb = b + dt.timedelta(days=self.rng.choice([-1, 1, 10, -10, 30, -30]))
            log.append(("birth", "birth_wrong", "error", f"{b}->{nb}"))
            return nb
        return b

    def phone(self, p, log, variety=0.3, allow_home=True):
        rng = self.rng
        if self.hit("phone_missing"):
            log.append(("phone", "phone_missing", "error", ""))
            return ""
        ph = p.mobile
        cls = None
        if ph and p.old_mobile and self.hit("phone_stale"):
            ph, cls = p.old_mobile, "phone_stale"
        if not ph or (allow_home and self.hit("phone_household")):
            alts = []
            if p.relative_phone:
                alts.append(p.relative_phone)
            if p.hh["landline"]:
                alts.append(p.hh["landline"])
            alts += [m.mobile for m in p.hh["members"] if m.mobile and m is not p and age_on(m.birth) >= 18]
            if alts:
                alt = rng.choice(alts)
                if ph != alt:
                    cls = "phone_family_or_landline" if p.mobile else "phone_contact_person"
                ph = alt
        if not ph:
            return ""
        if cls:
            log.append(("phone", cls, "error" if cls == "phone_stale" or p.mobile else "format", ""))
        if self.hit("phone_typo"):
            digits = [i for i, c in enumerate(ph) if c.isdigit()]
            i = rng.choice(digits[3:])
            ph = ph[:i] + str((int(ph[i]) + rng.randint(1, 9)) % 10) + ph[i + 1:]
            log.append(("phone", "phone_digit_typo", "error", ""))
        if p.mobile and ph == p.mobile and p.hh["landline"] and self.hit("phone_two_numbers"):
            ph = ph + rng.choice(["/", "，", " ", ";", "、"]) + p.hh["landline"]
            log.append(("phone", "phone_two_numbers", "format", ""))
            return ph
        v, c = fmt_phone(ph, rng, variety)
        if c:
            log.append(("phone", c, "format", ""))
        return v

    def address(self, p, log, styles, prefix_p=0.4, fw_p=0.0, comm_p=0.0):
        rng = self.rng
        u = p.unit
        if p.prev_addr and self.hit("addr_stale"):
            u = p.prev_addr
            log.append(("address", "addr_stale", "error", ""))
        style = rng.choice(styles)
        if u["type"] == "flat" and self.hit("addr_incomplete"):
            style = "bldg_only"
            log.append(("address", "addr_incomplete", "error", ""))
        if self.hit("addr_room_typo") and u["type"] == "flat":
            u = dict(u)
            u["room"] = rng.choice([u["room"] + 1, u["room"] - 1 if u["room"] % 100 > 1 else u["room"] + 100,
                                    int(str(u["room"])[::-1]) if str(u["room"])[::-1][0] != "0" else u["room"] + 100])
            log.append(("address", "addr_room_typo", "error", ""))
        prefix = rng.choice(PREFIXES[2:]) if rng.random() < prefix_p else ""
        fw = rng.random() < fw_p
        s = render_addr(u, style, prefix, fw, comm_in=rng.random() < comm_p)
        if style not in ("formal", "bldg_only"):
            log.append(("address", f"addr_notation_{style}", "format", ""))
        if fw:
            log.append(("address", "addr_fullwidth", "format", ""))
        return s

    def sex(self, p, log):
        if self.hit("sex_wrong"):
            log.append(("sex", "sex_wrong", "error", ""))
            return "女" if p.sex == "M" else "男"
        return "男" if p.sex == "M" else "女"


# --------------------------------------------------------------------------- department files
class Out:
    def __init__(self, outdir):
        self.dir = outdir
        self.truth = []
        self.noise = []
        self.rates = {}

    def finish_rows(self, rng, fname, sheet, rows, dup_rate, keep_order=False):
        """rows: list of (values, person_key, log). Adds exact duplicates, returns ordered rows."""
        res = list(rows)
        ndup = max(1, round(len(rows) * dup_rate)) if dup_rate > 0 else 0
        for r in rng.sample(rows, min(ndup, len(rows))):
            pos = res.index(r)
            newpos = pos + 1 if rng.random() < 0.6 else rng.randrange(len(res) + 1)
            res.insert(newpos, (list(r[0]), r[1], r[2] + [("row", "dup_exact_row", "duplicate", "")]))
        for i, (vals, key, log) in enumerate(res):
            rowno = i + 2
            self.truth.append((fname, sheet, rowno, key))
            for field, cls, kind, det in log:
                self.noise.append((fname, sheet, rowno, key, field, cls, kind, det))
        return res

    def write_csv(self, fname, header, rows, encoding):
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\r\n")
        w.writerow(header)
        for vals, _, _ in rows:
            w.writerow(["" if v is None else v for v in vals])
        data = buf.getvalue()
        with open(os.path.join(self.dir, fname), "wb") as f:
            f.write(data.encode(encoding, errors="replace"))

    def write_xlsx(self, fname, sheets):
        wb = openpyxl.Workbook()
        wb.remove(wb.active)
        fixed = dt.datetime(2026, 11, 30, 9, 0, 0)
        wb.properties.created = fixed
        wb.properties.modified = fixed
        wb.properties.creator = "Administrator"
        for sname, header, rows in sheets:
            ws = wb.create_sheet(sname)
            ws.append(header)
            for vals, _, _ in rows:
                ws.append(list(vals))
            for row in ws.iter_rows(min_row=2):
                for c in row:
                    if isinstance(c.value, dt.datetime):
                        c.number_format = "yyyy-mm-dd" if c.column % 2 else "yyyy/m/d"
        path = os.path.join(self.dir, fname)
        wb.save(path)
        # rewrite the zip with fixed timestamps so that the bytes are reproducible
        with zipfile.ZipFile(path) as z:
            items = [(i.filename, z.read(i.filename)) for i in z.infolist()]
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in items:
                if name == "docProps/core.xml":
                    data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2026-11-30T09:00:00Z", data)
                zi = zipfile.ZipInfo(name, date_time=(2026, 11, 30, 9, 0, 0))
                zi.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(zi, data)


def status_cn(p):
    return {"alive": "正常", "deceased": "死亡", "moved_out": "迁出", "left": "正常"}[p.status]


def stale_log(p, log, marks_status):
    if p.status == "deceased" and not marks_status:
        log.append(("row", "deceased_not_marked", "stale", str(p.death)))
    if p.status == "moved_out" and not marks_status:
        log.append(("row", "moved_out_not_marked", "stale", str(p.death)))


def gen_minzheng(W_, out, rng):
    """民政: 社会救助对象花名册 — CSV, GBK"""
    fname = "清禾街道社会救助对象花名册_202611.csv"
    rates = dict(name_homophone=0.02, name_typo=0.01, name_space=0.03, name_alias=0.15, id_missing=0.005,
                 id_other_member=0.02, id_legacy15=0.02, id_digit_typo=0.015, id_transpose=0.01, id_bad_check=0.005,
                 id_notation=0.03, birth_wrong=0.01, phone_missing=0.05, phone_stale=0.2, phone_household=0.3,
                 phone_typo=0.01, phone_two_numbers=0.15, addr_stale=0.08, addr_room_typo=0.01, sex_wrong=0.003)
    nz = Noiser(rng, W_, rates)
    out.rates[fname] = dict(rates)
    P = [p for p in W_.persons if not p.migrant]
    entries = []   # (person, category, relation, n_in_hh, amount)
    for p in P:
        if age_on(p.birth) >= 80 and rng.random() < 0.93:
            amt = 50 if age_on(p.birth) < 90 else 100 if age_on(p.birth) < 100 else 500
            entries.append((p, "高龄补贴", "本人", 1, amt))
    hhs = [h for h in W_.households if not h["migrant"]]
    for hh in rng.sample(hhs, 42):
        cat = "低保" if rng.random() < 0.7 else "低保边缘"
        n = len(hh["members"])
        for p in hh["members"]:
            rel = {"户主": "户主", "配偶": "配偶", "子女": "子女", "父母": "父母"}.get(p.role, "其他")
            entries.append((p, cat, rel, n, 1163 * n if cat == "低保" else 580 * n))
    singles = [h["members"][0] for h in hhs if len(h["members"]) == 1 and age_on(h["members"][0].birth) >= 60
               and h["n_children"] == 0]
    for p in rng.sample(singles, min(10, len(singles))):
        entries.append((p, "特困供养", "本人", 1, 1512))
    rows = []
    for p, cat, rel, n, amt in entries:
        log = []
        marks = rng.random() < 0.85
        st = status_cn(p) if marks else "正常"
        stale_log(p, log, marks)
        b = nz.birth(p, log)
        bstyle = wchoice(rng, [("ym_dot", 60), ("ym_cn", 10), ("iso", 15), ("compact", 10), ("slash", 5)])
        if bstyle.startswith("ym"):
            log.append(("birth", "birth_year_month_only", "format", ""))
        note = ""
        if st == "死亡":
            note = f"{p.death.year}年{p.death.month}月去世，停发"
        elif st == "迁出":
            note = rng.choice(["户籍迁出", f"{p.death:%Y.%m}迁往外区"])
        vals = [None, p.comm, nz.name(p, log), nz.sex(p, log), nz.idnum(p, log), fmt_date(b, bstyle),
                nz.phone(p, log, 0.25), nz.address(p, log, ["formal", "formal", "road", "comp", "dash"], 0.6),
                cat, rel, n, amt, st, note]
        rows.append((vals, p.key, log))
    rows.sort(key=lambda r: (r[0][1], r[0][8], rng.random()))
    rows = out.finish_rows(rng, fname, "", rows, 0.012)
    k = 0
    for vals, _, log in rows:
        if vals[0] is None:
            k += 1
            vals[0] = k
    header = ["序号", "所属社区", "姓名", "性别", "身份证号码", "出生年月", "联系电话", "家庭住址", "救助类别",
              "与户主关系", "保障人数", "月发放金额(元)", "人员状态", "备注"]
    out.write_csv(fname, header, rows, "gbk")
    return fname, len(rows)


DIS_CATS = [(1, "视力残疾"), (2, "听力残疾"), (3, "言语残疾"), (4, "肢体残疾"), (5, "智力残疾"), (6, "精神残疾"),
            (7, "多重残疾")]
GRADE_CN = {1: "一级", 2: "二级", 3: "三级", 4: "四级"}


def gen_canlian(W_, out, rng):
    """残联: 持证残疾人名册 — XLSX, 3 sheets"""
    fname = "持证残疾人花名册（清禾街道）.xlsx"
    rates = dict(name_homophone=0.015, name_typo=0.01, name_space=0.02, name_alias=0.1, id_digit_typo=0.01,
                 id_transpose=0.01, id_bad_check=0.005, id_notation=0.0, birth_wrong=0.01, birth_swap_dm=0.01,
                 phone_missing=0.06, phone_stale=0.3, phone_household=0.25, phone_typo=0.01, phone_two_numbers=0.1,
                 addr_stale=0.12, addr_incomplete=0.02, sex_wrong=0.003)
    nz = Noiser(rng, W_, rates)
    out.rates[fname] = dict(rates)
    dis = []
    for p in W_.persons:
        a = age_on(p.birth)
        base = 0.015 if a < 40 else 0.04 if a < 65 else 0.09
        if p.migrant:
            base *= 0.15
        if rng.random() < base:
            cat = wchoice(rng, [(1, 18), (2, 15), (3, 2), (4, 38), (5, 8), (6, 12), (7, 7)])
            grade = wchoice(rng, [(1, 12), (2, 24), (3, 30), (4, 34)])
            dis.append((p, cat, grade))
            p.disability = (cat, grade)
    sheets = {"视力残疾": [], "肢体残疾": [], "其他类别": []}
    for p, cat, grade in dis:
        targets = ["视力残疾" if cat == 1 else "肢体残疾" if cat == 4 else "其他类别"]
        if cat == 7 and rng.random() < 0.35:   # multiple disability also kept on the single-category sheet
            targets.append(rng.choice(["视力残疾", "肢体残疾"]))
        for sh in targets:
            log = []
            marks = rng.random() < 0.3
            stale_log(p, log, marks)
            pid = nz.idnum(p, log, allow_member=False)
            if pid and rng.random() < 0.03:
                card = pid        # 证号缺类别等级两位
                log.append(("id", "card_without_suffix", "format", ""))
            elif pid:
                card = pid.strip() + f"{cat}{grade}"
            else:
                card = ""
            b = nz.birth(p, log)
            k = rng.random()
            if b is None:
                bv = None
            elif k < 0.45:
                bv = excel_serial(b)
                log.append(("birth", "birth_excel_serial", "format", ""))
            elif k < 0.8:
                bv = dt.datetime(b.year, b.month, b.day)
            else:
                st = rng.choice(["dot", "compact", "slash", "cn"])
                bv = fmt_date(b, st)
            guardian = ""
            if cat in (5, 6, 7) or age_on(p.birth) < 18:
                others = [m for m in p.hh["members"] if m is not p and age_on(m.birth) >= 18]
                if others:
                    guardian = rng.choice(others).name
            name = nz.name(p, log)
            sex = nz.sex(p, log)
            phone = nz.phone(p, log, 0.2)
            addr = nz.address(p, log, ["formal", "road", "comp", "comp_dong", "dash"], 0.5)
            issued = dt.datetime(2012, 1, 1) + dt.timedelta(days=rng.randint(0, 5000))
            status = "死亡" if (marks and p.status == "deceased") else "迁出" if (marks and p.status == "moved_out") else "在册"
            if sh == "其他类别":
                vals = [None, name, sex, card, dict(DIS_CATS)[cat], GRADE_CN[grade], bv, p.eth, phone, guardian,
                        addr, p.comm, issued, status]
            else:
                vals = [None, name, sex, card, dict(DIS_CATS)[cat] if rng.random() < 0.8 else str(cat),
                        GRADE_CN[grade] if rng.random() < 0.7 else str(grade), bv, p.eth, p.comm, addr, phone,
                        guardian, issued, status]
            sheets[sh].append((vals, p.key, log))
    out_sheets = []
    for sh in ["视力残疾", "肢体残疾", "其他类别"]:
        rows = sheets[sh]
        rng.shuffle(rows)
        rows = out.finish_rows(rng, fname, sh, rows, 0.015)
        k = 0
        for vals, _, _ in rows:
            if vals[0] is None:
                k += 1
                vals[0] = k
        if sh == "其他类别":
            header = ["序号", "姓名", "性别", "残疾证号", "残疾类别", "残疾等级", "出生日期", "民族", "联系电话",
                      "监护人", "居住地址", "所属社区", "发证日期", "状态"]
        else:
            header = ["序号", "姓名", "性别", "残疾证号", "残疾类别", "残疾等级", "出生日期", "民族", "社区",
                      "现居住地址", "联系电话", "监护人/联系人", "发证日期", "状态"]
        out_sheets.append((sh, header, rows))
    out.write_xlsx(fname, out_sheets)
    return fname, {s: len(r) for s, _, r in out_sheets}


def gen_zongzhi(W_, out, rng):
    """综治: 重点人员花名册 — CSV UTF-8 with BOM"""
    fname = "重点人员管理台账_清禾街道.csv"
    rates = dict(name_homophone=0.02, name_typo=0.015, name_space=0.02, name_alias=0.4, id_missing=0.02,
                 id_digit_typo=0.02, id_transpose=0.015, id_bad_check=0.01, id_legacy15=0.02, id_notation=0.05,
                 birth_missing=0.05, birth_swap_dm=0.02, birth_wrong=0.015, phone_missing=0.08, phone_stale=0.45,
                 phone_household=0.15, phone_typo=0.02, addr_stale=0.2, addr_incomplete=0.04, addr_room_typo=0.02,
                 sex_wrong=0.005)
    nz = Noiser(rng, W_, rates)
    out.rates[fname] = dict(rates)
    adults = [p for p in W_.persons if 18 <= age_on(p.birth) <= 70]
    men = [p for p in adults if p.sex == "M"]
    picks = []
    for typ, n, pool in [("社区矫正对象", 16, men + adults[:0]), ("刑满释放人员", 42, men),
                         ("社区戒毒社区康复人员", 14, adults), ("重点信访人员", 10,
                                                          [p for p in adults if age_on(p.birth) >= 45 and not p.migrant])]:
        for p in rng.sample(pool, n):
            picks.append((p, typ))
    psy = [p for p in W_.persons if getattr(p, "disability", (0, 0))[0] == 6]
    for p in psy:
        if rng.random() < 0.8:
            picks.append((p, "严重精神障碍患者"))
    for p in rng.sample([p for p in W_.persons if 16 <= age_on(p.birth) <= 25], 12):
        picks.append((p, "重点青少年"))
    # same person listed under two types
    for p, typ in rng.sample(picks[16:58], 6):
        picks.append((p, "社区戒毒社区康复人员" if typ != "社区戒毒社区康复人员" else "刑满释放人员"))
    rows = []
    for p, typ in picks:
        log = []
        stale_log(p, log, False)
        b = nz.birth(p, log)
        bs = rng.choice(["iso", "iso", "slash", "compact", "cn"])
        hukou = (p.hukou_addr if p.migrant else
                 render_addr(p.hukou_addr, "formal", "浙江省杭州市上城区清禾街道"))
        level = wchoice(rng, [("绿色", 50), ("黄色", 30), ("橙色", 15), ("红色", 5)])
        alias = ""
        name = nz.name(p, log)
        if p.alias and p.alias != name and rng.random() < 0.5:
            alias = p.alias
        if p.alias and name == p.alias:
            alias = p.name if rng.random() < 0.5 else ""
        pid = nz.idnum(p, log)
        vals = [None, name, alias, nz.sex(p, log), p.eth + ("族" if rng.random() < 0.5 else ""),
                "居民身份证" if pid else "", pid, fmt_date(b, bs), hukou,
                nz.address(p, log, ADDR_STYLES, 0.5, 0.03, 0.2), typ,
                fmt_date(REF - dt.timedelta(days=rng.randint(30, 3000)), "iso"), level, nz.phone(p, log, 0.35),
                f"{p.comm}第{rng.randint(1, 6)}网格", ""]
        rows.append((vals, p.key, log))
    rng.shuffle(rows)
    rows.sort(key=lambda r: r[0][10])
    rows = out.finish_rows(rng, fname, "", rows, 0.02)
    k = 0
    for vals, _, _ in rows:
        if vals[0] is None:
            k += 1
            vals[0] = f"ZZ{k:04d}"
    header = ["编号", "姓名", "曾用名/别名", "性别", "民族", "证件类型", "证件号码", "出生日期", "户籍地", "现住址",
              "人员类型", "列管日期", "管控等级", "联系方式", "所属网格", "备注"]
    out.write_csv(fname, header, rows, "utf-8-sig")
    return fname, len(rows)


def gen_weijian(W_, out, rng):
    """卫健/计生: XLSX 育龄妇女 + 独生子女家庭"""
    fname = "计生服务管理台账2026.xlsx"
    rates = dict(name_homophone=0.02, name_typo=0.01, name_space=0.02, name_alias=0.2, id_missing=0.01,
                 id_digit_typo=0.01, id_transpose=0.008, id_bad_check=0.005, id_legacy15=0.0, id_notation=0.02,
                 birth_wrong=0.01, birth_swap_dm=0.015, phone_missing=0.04, phone_stale=0.25, phone_household=0.1,
                 phone_typo=0.01, addr_stale=0.1, addr_room_typo=0.01, sex_wrong=0.0)
    nz = Noiser(rng, W_, rates)
    out.rates[fname + " / 育龄妇女"] = dict(rates)
    sheets = []
    # 育龄妇女
    rows = []
    for p in W_.persons:
        a = age_on(p.birth)
        if p.sex == "F" and 20 <= a <= 49 and rng.random() < (0.85 if p.role in ("户主", "配偶", "合租") else 0.6):
            log = []
            stale_log(p, log, False)
            if p.status == "left":
                log.append(("row", "migrant_left_not_marked", "stale", ""))
            hus = [m for m in p.hh["members"] if m.role in ("户主", "配偶") and m.sex == "M"]
            h = hus[0] if (hus and p.role in ("户主", "配偶")) else None
            pid = nz.idnum(p, log)
            b = nz.birth(p, log)
            k = rng.random()
            if b is None:
                bv = None
            elif pid and len(pid) == 18 and k < 0.3:
                bv = None   # left empty: derivable from ID
                log.append(("birth", "birth_missing", "error", "blank"))
            elif k < 0.75:
                bv = dt.datetime(b.year, b.month, b.day)
            elif k < 0.9:
                bv = excel_serial(b)
                log.append(("birth", "birth_excel_serial", "format", ""))
            else:
                bv = fmt_date(b, rng.choice(["dot_short", "compact", "cn"]))
            if pid and pid.isdigit() and len(pid) == 18 and rng.random() < 0.03:
                pid = int(pid[:15] + "000")
                log.append(("id", "id_excel_number_truncated", "error", ""))
            kids = (sum(1 for m in p.hh["members"] if m.role == "子女") if h else 0 if p.role == "子女"
                    else rng.choice([0, 1, 1, 2]))
            marr = "已婚" if h else "未婚" if p.role == "子女" else rng.choice(["未婚", "已婚", "已婚", "离异"])
            vals = [None, nz.name(p, log), pid, bv, "流入" if p.migrant else "户籍", marr,
                    h.name if h else "", h.id18 if (h and rng.random() < 0.8) else "", kids,
                    rng.choice(["", "宫内节育器", "避孕套", "绝育", "无"]),
                    nz.address(p, log, ["formal", "comp", "comp_dash", "road_dash", "dash"], 0.3, 0.02),
                    nz.phone(p, log, 0.25), p.comm]
            rows.append((vals, p.key, log))
    rows.sort(key=lambda r: (r[0][12], r[0][4], rng.random()))
    rows = out.finish_rows(rng, fname, "育龄妇女", rows, 0.008)
    for i, (vals, _, _) in enumerate(rows):
        vals[0] = vals[0] or f"YL{i + 1:05d}"
    sheets.append(("育龄妇女", ["编号", "姓名", "身份证号", "出生日期", "户籍性质", "婚姻状况", "配偶姓名",
                              "配偶身份证号", "现有子女数", "避孕措施", "现居住地", "联系电话", "所属社区"], rows))
    # 独生子女家庭 (持证父母 each one row)
    nz.r.update(id_legacy15=0.35, id_missing=0.02, phone_household=0.35, name_alias=0.3)
    out.rates[fname + " / 独生子女家庭"] = dict(nz.r)
    rows = []
    for hh in W_.households:
        if hh["migrant"]:
            continue
        parents = [m for m in hh["members"] if m.role in ("户主", "配偶") and 1948 <= m.birth.year <= 1978]
        if not parents or hh.get("n_children", 0) != 1 and not any(m.role == "子女" for m in hh["members"]):
            continue
        kids = [m for m in hh["members"] if m.role == "子女"]
        if len(kids) > 1 or hh.get("n_children", 1) > 1:
            continue
        if rng.random() > 0.8:
            continue
        fa = [m for m in hh["members"] if m.role in ("户主", "配偶") and m.sex == "M"] or hh["members"]
        child = kids[0].name if kids else fa[0].surname + W_.gen_given(
            rng.choice("MF"), dt.date(1985, 1, 1))
        cyear = kids[0].birth.year if kids else rng.randint(1978, 1995)
        cert = f"浙计光字第{rng.randint(1980, 1999)}{rng.randrange(10**5):05d}号"
        for p in parents:
            log = []
            stale_log(p, log, False)
            sp = [m for m in parents if m is not p]
            pid = nz.idnum(p, log, allow_member=False)
            b = nz.birth(p, log)
            bv = excel_serial(b) if (b and rng.random() < 0.5) else (dt.datetime(b.year, b.month, b.day) if b else None)
            if isinstance(bv, int):
                log.append(("birth", "birth_excel_serial", "format", ""))
            typ = "奖励扶助" if age_on(p.birth) >= 60 else "独生子女父母奖励"
            vals = [None, nz.name(p, log), nz.sex(p, log), pid, bv, sp[0].name if sp else "", child, cyear, cert,
                    typ, nz.address(p, log, ["formal", "road", "comp", "cn", "cn2", "comp_dash"], 0.5, 0.05, 0.3),
                    nz.phone(p, log, 0.3), p.comm]
            rows.append((vals, p.key, log))
    rows.sort(key=lambda r: (r[0][12], rng.random()))
    rows = out.finish_rows(rng, fname, "独生子女家庭", rows, 0.01)
    for i, (vals, _, _) in enumerate(rows):
        vals[0] = vals[0] or i + 1
    sheets.append(("独生子女家庭", ["序号", "持证人姓名", "性别", "身份证号", "出生日期", "配偶姓名", "独生子女姓名",
                                "子女出生年份", "光荣证编号", "扶助类别", "家庭住址", "联系电话", "社区"], rows))
    out.write_xlsx(fname, sheets)
    return fname, {s: len(r) for s, _, r in sheets}


def gen_liudong(W_, out, rng):
    """流动人口: 登记信息导出 — CSV UTF-8 (no BOM)"""
    fname = "liudongrenkou_export_20261130.csv"
    rates = dict(name_homophone=0.01, name_typo=0.01, name_space=0.01, id_missing=0.004, id_digit_typo=0.008,
                 id_transpose=0.006, id_bad_check=0.003, id_notation=0.02, birth_wrong=0.004, phone_missing=0.02,
                 phone_stale=0.35, phone_household=0.05, phone_typo=0.01, addr_room_typo=0.02, addr_incomplete=0.03)
    nz = Noiser(rng, W_, rates)
    out.rates[fname] = dict(rates)
    rows = []
    for p in W_.persons:
        if not p.migrant or age_on(p.birth) < 16 or rng.random() > 0.86:
            continue
        regs = [("cur", p.unit)]
        if rng.random() < 0.06:      # earlier registration at another address in the street, cancelled
            regs.insert(0, ("old", W_.take_unit(rng.randrange(3), 0.4)))
        for kind, u in regs:
            log = []
            old_unit = p.unit
            p.unit = u
            if kind == "old":
                log.append(("address", "earlier_registration_other_address", "stale", ""))
            b = nz.birth(p, log)
            addr = nz.address(p, log, ["formal", "road", "road_dash", "dash", "comp", "comp_dash", "cn"], 0.7,
                              0.04, 0.1)
            p.unit = old_unit
            reg_date = min(REF, p.arrive + dt.timedelta(days=rng.randint(0, 60)))
            if kind == "old":
                state = "已注销"
            else:
                if len(regs) > 1:
                    reg_date = min(REF, p.arrive + dt.timedelta(days=rng.randint(200, 900)))
                state = "已注销" if p.status == "left" else "在住"
            ll = p.hh["landlord"]
            hk = p.hukou_addr
            if rng.random() < 0.15:
                hk = hk.split("省")[-1] if "省" in hk else hk
            vals = [f"LD{reg_date:%Y%m}{rng.randrange(10**5):05d}", nz.name(p, log), nz.sex(p, log), p.eth,
                    nz.idnum(p, log, allow_member=False), fmt_date(b, "compact" if rng.random() < 0.8 else "iso"), hk,
                    addr, p.permit if rng.random() < 0.85 else "", fmt_date(p.arrive, "iso"),
                    fmt_date(reg_date, "iso"), rng.choice(["务工", "务工", "务工", "经商", "投靠亲友", "其他"]),
                    rng.choice(["", "个体", "杭州某物流有限公司", "某餐饮店", "某建筑公司", "无"]),
                    nz.phone(p, log, 0.15, allow_home=False), ll.name,
                    ll.mobile or ll.hh["landline"] or "", state]
            rows.append((vals, p.key, log))
    rows.sort(key=lambda r: r[0][10])
    rows = out.finish_rows(rng, fname, "", rows, 0.01)
    header = ["登记编号", "姓名", "性别", "民族", "公民身份号码", "出生日期", "户籍地详址", "暂住地址", "居住证编号",
              "来杭日期", "登记日期", "居住事由", "服务处所", "联系电话", "房东姓名", "房东电话", "状态"]
    out.write_csv(fname, header, rows, "utf-8")
    return fname, len(rows)


def gen_weisheng(W_, out, rng):
    """社区卫生服务中心: 65岁及以上老年人健康管理花名册 — CSV GB18030; paper-form rows carry only 姓名/性别/住址"""
    fname = "65岁以上老年人健康管理名单.csv"
    rates = dict(name_homophone=0.04, name_typo=0.02, name_space=0.03, name_alias=0.1, id_missing=0.03, id_other_member=0.01,
                 id_digit_typo=0.015, id_transpose=0.01, id_legacy15=0.03, id_notation=0.03, phone_missing=0.05,
                 phone_stale=0.2, phone_household=0.3, phone_typo=0.015, addr_stale=0.05, addr_room_typo=0.02,
                 sex_wrong=0.01)
    nz = Noiser(rng, W_, rates)
    out.rates[fname] = dict(rates)
    rows = []
    doctors = ["刘医生", "钱建英", "周敏", "沈立华", "何医生"]
    for p in W_.persons:
        if age_on(p.birth) < 65 or rng.random() > 0.78:
            continue
        log = []
        stale_log(p, log, False)
        paper = rng.random() < 0.35
        name = nz.name(p, log)
        sex = nz.sex(p, log)
        addr = nz.address(p, log, ["cn", "cn2", "comp", "formal", "comp_dong", "road", "comp_dash"], 0.2, 0.08, 0.15)
        if paper:
            log = [x for x in log if x[0] in ("name", "sex", "address", "row")]
            log.append(("row", "name_sex_address_only", "format", ""))
            vals = [None, name, sex, "", "", "", addr, "", "", "入户随访登记"]
        else:
            age = age_on(p.birth)
            if rng.random() < 0.03:
                age += rng.choice([-1, 1])
                log.append(("birth", "age_off_by_one", "error", ""))
            vals = [None, name, sex, age, nz.idnum(p, log), nz.phone(p, log, 0.3), addr,
                    rng.choice(doctors), fmt_date(REF - dt.timedelta(days=rng.randint(20, 600)),
                                                  rng.choice(["iso", "slash", "compact"])), ""]
        rows.append((vals, p.key, log))
    rng.shuffle(rows)
    rows = out.finish_rows(rng, fname, "", rows, 0.015)
    for i, (vals, _, _) in enumerate(rows):
        vals[0] = vals[0] or i + 1
    header = ["序号", "姓名", "性别", "年龄", "身份证号", "联系电话", "住址", "签约家庭医生", "最近体检日期", "备注"]
    out.write_csv(fname, header, rows, "gb18030")
    return fname, len(rows)



# --------------------------------------------------------------------------- documentation
README = """# 清禾街道 各部门人员名单汇总（数据说明）

致 数据整合工作组：

现将各条线报送的人员名单（截至 2026 年 11 月 30 日）汇总转交。各名单由各部门/单位在各自业务系统或日常台账中
导出、整理，格式未做统一，字段含义说明如下。所有文件均为原样转交，未经街道二次加工。
本街道地址：浙江省杭州市上城区清禾街道，下辖清禾社区、钱塘社区、云栖社区。

---

## 1. 民政：`清禾街道社会救助对象花名册_202611.csv`

- 来源：街道社会救助（民政）条线，CSV，**GBK 编码**，逗号分隔，第一行为表头。
- 内容：在册的低保、低保边缘、特困供养对象，以及高龄津贴（高龄补贴）发放对象。
  低保/低保边缘按家庭保障，同一家庭的每位保障成员各占一行；同一人同时享受两类待遇时分行列出。

| 列名 | 说明 |
|---|---|
| 序号 | 行号 |
| 所属社区 | 清禾社区 / 钱塘社区 / 云栖社区 |
| 姓名 | |
| 性别 | 男 / 女 |
| 身份证号码 | 居民身份证号码 |
| 出生年月 | 出生年月（或出生日期） |
| 联系电话 | 本人或家属联系电话 |
| 家庭住址 | 居住地址 |
| 救助类别 | 低保、低保边缘、特困供养、高龄补贴 |
| 与户主关系 | 户主、配偶、子女、父母、其他；高龄补贴、特困供养为“本人” |
| 保障人数 | 该家庭保障人口数（高龄、特困为 1） |
| 月发放金额(元) | 当月发放金额 |
| 人员状态 | 正常 / 死亡 / 迁出（死亡、迁出者已停发，保留记录备查） |
| 备注 | 停发原因等 |

## 2. 残联：`持证残疾人花名册（清禾街道）.xlsx`

- 来源：街道残联专职委员台账，Excel，三个工作表：**视力残疾**、**肢体残疾**、**其他类别**（听力、言语、智力、精神、多重）。
  各表第一行为表头；“其他类别”表的列顺序与前两表不同。
- 残疾证号：第二代残疾人证号，20 位 = 18 位身份证号 + 1 位残疾类别代码 + 1 位残疾等级代码。
  - 类别代码：1 视力，2 听力，3 言语，4 肢体，5 智力，6 精神，7 多重
  - 等级代码：1 一级（最重）… 4 四级
- 列（视力残疾、肢体残疾表）：序号、姓名、性别、残疾证号、残疾类别、残疾等级（文字或数字代码）、出生日期、民族、社区、
  现居住地址、联系电话、监护人/联系人（姓名）、发证日期、状态。
- 列（其他类别表）：序号、姓名、性别、残疾证号、残疾类别、残疾等级、出生日期、民族、联系电话、监护人、居住地址、
  所属社区、发证日期、状态。
- 状态：在册 / 死亡 / 迁出。

## 3. 综治：`重点人员管理台账_清禾街道.csv`

- 来源：街道综治中心（平安办）重点人员管理台账，CSV，**UTF-8（带 BOM）**。
- 同一人属于多类重点人员的，按类别分行列管。

| 列名 | 说明 |
|---|---|
| 编号 | 台账编号 ZZxxxx |
| 姓名 | |
| 曾用名/别名 | 有则填写 |
| 性别 | |
| 民族 | |
| 证件类型 | 居民身份证；空白表示未登记证件 |
| 证件号码 | |
| 出生日期 | |
| 户籍地 | 户籍登记地址 |
| 现住址 | 实际居住地址 |
| 人员类型 | 社区矫正对象、刑满释放人员、社区戒毒社区康复人员、严重精神障碍患者、重点信访人员、重点青少年 |
| 列管日期 | 纳入管理日期 |
| 管控等级 | 红色（最高）、橙色、黄色、绿色 |
| 联系方式 | |
| 所属网格 | 社区 + 网格号 |
| 备注 | |

## 4. 卫健（计生）：`计生服务管理台账2026.xlsx`

- 来源：街道计生办（卫健条线），Excel，两个工作表，第一行为表头。
- **育龄妇女**：辖区内 20–49 周岁妇女（含户籍和流入人口）。
  列：编号、姓名、身份证号、出生日期、户籍性质（户籍 / 流入）、婚姻状况、配偶姓名、配偶身份证号、现有子女数、
  避孕措施、现居住地、联系电话、所属社区。配偶姓名/身份证号为其丈夫的信息。
- **独生子女家庭**：领取《独生子女父母光荣证》的父母，夫妻二人各占一行。
  列：序号、持证人姓名、性别、身份证号、出生日期、配偶姓名、独生子女姓名、子女出生年份、光荣证编号、
  扶助类别（独生子女父母奖励 / 奖励扶助）、家庭住址、联系电话、社区。

## 5. 流动人口：`liudongrenkou_export_20261130.csv`

- 来源：流动人口服务管理站系统导出，CSV，**UTF-8（无 BOM）**。仅含非本地户籍的暂住人员（16 周岁以上）。
- 同一人在辖区内多次申报居住登记的，每次登记一行（旧登记状态为已注销）。

| 列名 | 说明 |
|---|---|
| 登记编号 | 居住登记编号，LD + 登记年月 + 流水号 |
| 姓名、性别、民族 | |
| 公民身份号码 | |
| 出生日期 | |
| 户籍地详址 | 户籍所在地地址（外地） |
| 暂住地址 | 在本街道的居住地址 |
| 居住证编号 | 浙江省居住证编号，未办证的为空 |
| 来杭日期 | 首次来杭日期 |
| 登记日期 | 本次居住登记日期 |
| 居住事由 | 务工、经商、投靠亲友、其他 |
| 服务处所 | 工作单位 |
| 联系电话 | |
| 房东姓名、房东电话 | 出租房屋房东 |
| 状态 | 在住 / 已注销 |

## 6. 社区卫生服务中心：`65岁以上老年人健康管理名单.csv`

- 来源：清禾街道社区卫生服务中心老年人健康管理（家庭医生签约、体检）名单，CSV，**GB18030 编码**。
- 含门诊建档人员和入户随访登记人员。入户随访登记的人员（备注为“入户随访登记”）只记录了姓名、性别、住址。

| 列名 | 说明 |
|---|---|
| 序号 | |
| 姓名、性别 | |
| 年龄 | 周岁（截至导出日） |
| 身份证号 | |
| 联系电话 | |
| 住址 | |
| 签约家庭医生 | |
| 最近体检日期 | |
| 备注 | |

---
各部门名单之间未做过比对，同一人可能出现在多份名单中，也可能在同一份名单中出现多次。
"""


DESCR = {
    "id_missing": "ID cell empty",
    "id_digit_typo": "one ID digit (pos 1-17) replaced by another digit",
    "id_transpose": "two adjacent different ID characters swapped",
    "id_bad_check": "only the 18th (check) character wrong",
    "id_other_member": "ID of another member of the same household recorded (detail = that person's key)",
    "id_excel_number_truncated": "XLSX: ID stored as a number, last 3 digits turned to 000 (Excel 15-digit precision)",
    "id_legacy15": "legacy 15-digit ID (region + YYMMDD + seq, no century, no check digit)",
    "id_notation": "lower-case x, leading/trailing or inner spaces, leading apostrophe, full-width digits",
    "card_without_suffix": "残疾证号 given as the 18-digit ID without the category/grade digits",
    "name_homophone": "one character replaced by a homophone (欣/馨, 伟/玮, 张/章, 黄/王 dialect ...)",
    "name_typo": "one character replaced by a look-alike / other name character, or dropped",
    "name_former_name": "former name (曾用名) recorded instead of the current name",
    "name_whitespace": "spaces / ideographic spaces inside, before or after the name",
    "name_dot_variant": "minority name separator · written as •, ．, ., space or dropped",
    "birth_missing": "birth date empty",
    "birth_swap_dm": "day and month swapped",
    "birth_wrong": "birth date wrong by ±1/±10 years or ±1/10/30 days",
    "birth_year_month_only": "only year and month recorded",
    "birth_excel_serial": "XLSX: birth date stored as an Excel serial number",
    "age_off_by_one": "recorded age off by one year",
    "phone_missing": "phone empty",
    "phone_stale": "person's previous mobile number",
    "phone_family_or_landline": "person has an own mobile but a household landline / relative's phone is recorded",
    "phone_contact_person": "person has no mobile; a relative's phone or the household landline is recorded",
    "phone_digit_typo": "one phone digit wrong",
    "phone_notation": "dashes, spaces, +86/86 prefix, (0571), full-width digits, trailing space",
    "phone_two_numbers": "two numbers in one cell",
    "addr_stale": "previous address (household moved within the street or into it)",
    "addr_room_typo": "room number wrong (±1, reversed, other floor)",
    "addr_incomplete": "only compound + building recorded",
    "addr_fullwidth": "full-width digits/dashes in the address",
    "name_sex_address_only": "row has only name, sex and address (no ID, age, phone)",
    "deceased_not_marked": "person died (see persons.csv status_date) but the row shows no death",
    "moved_out_not_marked": "person moved out of the street but the row shows no move",
    "migrant_left_not_marked": "migrant has left (registration cancelled) but still listed",
    "earlier_registration_other_address": "older, cancelled registration of the same migrant at another address",
    "dup_exact_row": "exact copy of another row of the same sheet (the copy is the row logged)",
    "hn_twin": "person has a twin (same birth date, same household, similar name, consecutive ID seq) - NOT the same person",
    "hn_namesake_same_community": "another person with the identical name lives in the same community",
    "sex_wrong": "sex recorded wrongly",
}


def write_docs(outdir, seed, W_, out):
    with open(os.path.join(outdir, "README.md"), "w", encoding="utf-8") as f:
        f.write(README)
    from collections import Counter
    cnt = Counter()
    rows_per = Counter()
    for fname, sheet, _, _ in out.truth:
        rows_per[(fname, sheet)] += 1
    rows_with = Counter()
    seen = set()
    for fname, sheet, row, key, field, cls, kind, det in out.noise:
        cnt[(fname, sheet, cls, kind)] += 1
        if (fname, sheet, row, cls) not in seen:
            seen.add((fname, sheet, row, cls))
            rows_with[(fname, sheet, cls)] += 1
    fs = sorted(rows_per)
    short = {f: f"F{i + 1}" for i, f in enumerate(fs)}
    L = ["# ERROR MODEL (evaluator only - do not hand to the integrator)", "",
         f"Generated by `generate.py --seed {seed}`. Reference date 2026-11-30.", "",
         "## World", "",
         f"- {len(W_.persons)} true persons in {len(W_.households)} households, street 清禾街道 (上城区), "
         "communities 清禾社区 / 钱塘社区 / 云栖社区.",
         "- Household types: elderly couples/singles, families, three-generation, young couples, single adults (local "
         "hukou); migrant families, migrant single workers and **group rentals of unrelated migrants sharing one flat**.",
         "- Old lane houses (e.g. 清禾路44号) are shared by several unrelated households (same address, different people).",
         "- Family members share address and (often) the household landline; elderly without a mobile are reached through "
         "a relative's phone, so one phone number can belong to several rows of different people.",
         "- Twins (same birth date, same household, similar or homophone given names, ID sequence numbers 2 apart) are "
         "different people. Forced namesakes (王伟 x3, 李娜, 张敏, 陈静, 王芳 x2) in one community plus natural ones.",
         "- Some persons changed name (persons.csv former_name), some households moved (previous_address), "
         "~45 elderly died in 2026 and a few households moved out (status/status_date). Only 民政 (85% of rows) and "
         "残联 (30%) record death/move; all other lists keep such people unmarked.",
         "- Migrants that left are `已注销` in the migrant list but can still appear e.g. in 育龄妇女.",
         "- Persons born before 1984 have a legacy 15-digit ID (derivable: drop century and check digit).",
         "- Contextual person references in rows (配偶姓名/配偶身份证号, 房东, 监护人, 独生子女姓名) are other people; "
         "truth labels only the row's subject.", "",
         "## Files", ""]
    for f in fs:
        L.append(f"- {short[f]} = `{f[0]}`" + (f" sheet `{f[1]}`" if f[1] else "") + f": {rows_per[f]} rows")
    L += ["", "File-level notation (not logged per row): dates mix ISO / `Y/M/D` / `YYYYMMDD` / `Y年M月D日` / real Excel "
          "date cells in varying proportions per file; addresses carry a random administrative prefix "
          "(浙江省杭州市上城区清禾街道, 杭州市上城区, 上城区清禾街道 …) or none, and sometimes the community name; "
          "残联 grade/category written as text or code; 流动人口 户籍地详址 sometimes without the province. "
          "Encodings: 民政 GBK (unencodable characters become `?`), 综治 UTF-8-BOM, 流动人口 UTF-8, 社区卫生 GB18030.", "",
          "## Configured per-row probabilities (per file)", "",
          "Probabilities are applied independently per row where applicable (e.g. id_legacy15 only for persons born <1984, "
          "birth_swap_dm only when day<=12, phone_stale only when the person has an old number, name_former_name only "
          "for persons with a former name), so observed rates below are lower than configured ones. "
          "Config key -> logged class: name_alias -> name_former_name, name_space -> name_whitespace, phone_typo -> "
          "phone_digit_typo, phone_household -> phone_family_or_landline (or phone_contact_person when the person has no "
          "mobile at all). Not configurable but logged: 育龄妇女 leaves 出生日期 blank in ~30% of rows that have an 18-digit "
          "ID (logged birth_missing, detail blank); 社区卫生 age_off_by_one 3%; 育龄妇女 id_excel_number_truncated 3%.", ""]
    keys = sorted({k for r in out.rates.values() for k in r})
    L.append("| class | " + " | ".join(out.rates) + " |")
    L.append("|---|" + "---|" * len(out.rates))
    for k in keys:
        L.append(f"| {k} | " + " | ".join(f"{r.get(k, 0):.3f}" if r.get(k, 0) else "-" for r in out.rates.values()) + " |")
    L += ["", "Duplicate-row rates: 民政 1.2%, 残联 1.5%/sheet, 综治 2%, 育龄妇女 0.8%, 独生子女 1%, 流动 1%, 社区卫生 1.5%. "
          "残联: 35% of 多重残疾 persons appear both on 其他类别 and a single-category sheet. 综治: 6 persons listed under two "
          "types. 民政: elderly on 低保 can also have a 高龄补贴 row. 流动人口: 6% have an older cancelled registration. "
          "社区卫生: 35% of rows are name/sex/address only.", "",
          "## Observed rows per class and file (rows carrying the class / rows in file)", "",
          "| class | kind | description | " + " | ".join(short[f] for f in fs) + " | total |",
          "|---|---|---|" + "---|" * (len(fs) + 1)]
    classes = sorted({(c, k) for (_, _, c, k) in cnt}, key=lambda x: (x[1], x[0]))
    for c, k in classes:
        vals = []
        tot = 0
        for f in fs:
            n = rows_with[(f[0], f[1], c)]
            tot += n
            vals.append(f"{n} ({100 * n / rows_per[f]:.1f}%)" if n else "")
        L.append(f"| {c} | {k} | {DESCR.get(c, 'address written in notation ' + c[14:] if c.startswith('addr_notation_') else '')} | "
                 + " | ".join(vals) + f" | {tot} |")
    L += ["", "Kinds: `error` value differs from the truth; `format` same value, other notation or less precision; "
          "`stale` outdated record; `duplicate` copy row; `hard_negative` row whose person has a look-alike "
          "(evaluate false merges).", "",
          "## noise_log.csv", "",
          "`file, sheet, row_number, person_key, field, error_class, kind, detail` - one line per (row, class); a row can "
          "carry several classes; rows without any line are clean apart from the file-level notation. Address notation "
          "classes: formal = `清禾路12号清禾苑3幢2单元502室` is not logged; others are logged as addr_notation_<style>.", "",
          "## truth.csv", "",
          "`file, sheet, row_number, person_key`; sheet is empty for CSV; row_number is the physical row in the "
          "file/sheet with the header as row 1 (first data row = 2). True pairs = all pairs of rows with the same "
          "person_key (see check_truth.py).", ""]
    with open(os.path.join(outdir, "ERROR_MODEL.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(L))


# --------------------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", default="out/")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    W_ = World(a.seed)
    out = Out(a.out)
    results = []
    for i, g in enumerate([gen_minzheng, gen_canlian, gen_zongzhi, gen_weijian, gen_liudong, gen_weisheng]):
        results.append(g(W_, out, random.Random(a.seed * 1000 + i)))
    # hard negatives (evaluation of precision): twins, same name in same community, shared address
    byname = {}
    for p in W_.persons:
        byname.setdefault((p.comm, p.name), []).append(p.key)
    pk = {p.key: p for p in W_.persons}
    for (f, s, r, key) in out.truth:
        p = pk[key]
        if p.twin:
            out.noise.append((f, s, r, key, "row", "hn_twin", "hard_negative", p.twin))
        if len(byname[(p.comm, p.name)]) > 1:
            out.noise.append((f, s, r, key, "row", "hn_namesake_same_community", "hard_negative",
                              "|".join(k for k in byname[(p.comm, p.name)] if k != key)))
    with open(os.path.join(a.out, "truth.csv"), "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "sheet", "row_number", "person_key"])
        w.writerows(out.truth)
    with open(os.path.join(a.out, "noise_log.csv"), "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "sheet", "row_number", "person_key", "field", "error_class", "kind", "detail"])
        w.writerows(out.noise)
    with open(os.path.join(a.out, "persons.csv"), "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["person_key", "name", "former_name", "sex", "birth_date", "id18", "id15", "ethnicity",
                    "community", "address", "previous_address", "hukou_type", "hukou_address", "mobile",
                    "old_mobile", "household_id", "household_role", "household_landline", "status", "status_date",
                    "twin_of"])
        for p in W_.persons:
            w.writerow([p.key, p.name, p.alias or "", "男" if p.sex == "M" else "女", p.birth.isoformat(), p.id18,
                        p.id15 or "", p.eth, p.comm, render_addr(p.unit, "formal", "浙江省杭州市上城区清禾街道"),
                        render_addr(p.prev_addr, "formal") if p.prev_addr else "",
                        "流动人口" if p.migrant else "本地户籍",
                        p.hukou_addr if p.migrant else render_addr(p.hukou_addr, "formal", "浙江省杭州市上城区清禾街道"),
                        p.mobile or "", p.old_mobile or "", p.hh["id"], p.role, p.hh["landline"] or "", p.status,
                        p.death.isoformat() if p.death else "", p.twin or ""])
    write_docs(a.out, a.seed, W_, out)
    for r in results:
        print(r)
    print("persons:", len(W_.persons), "households:", len(W_.households))


if __name__ == "__main__":
    main()
