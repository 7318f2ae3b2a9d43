#!/usr/bin/env python3
# Synthetic person-fusion evaluation data for 清禾街道. Seeded, CSV only (openpyxl unavailable).
import random, csv, os, datetime, collections
R = random.Random(20261207)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'out')
os.makedirs(OUT, exist_ok=True)
REF = datetime.date(2026, 11, 30)

W = [7,9,10,5,8,4,2,1,6,3,7,9,10,5,8,4,2]
def chk(s17): return '10X98765432'[sum(int(a)*b for a,b in zip(s17,W)) % 11]

SUR = ("王"*9+"陈"*9+"张"*7+"李"*7+"徐"*5+"吴"*5+"周"*5+"沈"*4+"金"*4+"朱"*4+"杨"*4+"胡"*4+"钱"*3+"章"*3+"俞"*3+"刘"*5+"黄"*4+"孙"*3+"何"*3+"郑"*3+"赵"*3+"方"*2+"叶"*3+"蒋"*2+"许"*3+"马"*2+"高"*2+"林"*2+"汪"*2+"丁"*2+"楼"*1+"邵"*2+"潘"*2+"姚"*2+"夏"*1+"毛"*1+"應"[0:0]+"冯"*2+"程"*1+"韩"*1+"袁"*1)
OLD_M = "国建根福宝金水明华荣德兴海林富生伟忠强军平松庆发元祥"
OLD_F = "秀英兰珍凤花美玉金娟芳萍霞梅琴菊彩月娣宝爱翠桂"
MID_M = "伟军勇斌杰涛峰刚明强磊辉鹏华建波斌东亮晓文"
MID_F = "丽静敏燕红艳玲芳霞娜婷琳洁萍虹颖雪慧晓丹"
YNG_M = "浩宇轩博睿子梓一涵晨俊杰泽辰皓宸逸铭航朗"
YNG_F = "欣怡萱涵诗雨子梓琪佳悦语嘉可馨若晗彤沫"
HOMO = dict(zip("明华芳英兰丽静军伟杰红峰涛斌燕婷萍霞梅建宝欣怡轩浩宇涵梓睿佳晨琪敏玲琳洁颖丹慧俊辰铭",
                "铭桦方瑛岚莉婧君炜洁虹锋滔彬艳亭平侠玫健保馨宜萱皓雨晗子锐嘉辰淇民伶林杰莹单惠骏晨明"))
SUR_HOMO = {"张":"章","章":"张","吴":"胡","胡":"吴","沈":"申","徐":"许","许":"徐","黄":"王","王":"黄","陈":"程","俞":"余","金":"靳","杨":"扬","叶":"业"}
SHAPE = dict(zip("王己未日土天晴玉末凤冯汪", "玉已末曰士夭睛王未风马江"))
TRAD = dict(zip("华国兰丽红军伟杰涛龙凤宝陈张刘杨黄赵吴钱马韩冯叶许汪叶娟俊浩梅东亮鹏颖慧", "華國蘭麗紅軍偉傑濤龍鳳寶陳張劉楊黃趙吳錢馬韓馮葉許汪葉娟俊浩梅東亮鵬穎慧"))

COMM = {
 "清禾社区": [("清禾苑", "清禾路", 18, 3), ("望江花园", "望江东路", 12, 2), ("荷花池新村", "荷花池巷", 24, 3)],
 "钱塘社区": [("钱塘人家", "钱江路", 10, 2), ("江锦公寓", "近江路", 6, 4), ("观潮苑", "秋涛北路", 15, 3)],
 "云栖社区": [("云栖雅苑", "复兴南路", 14, 2), ("紫荆公寓", "紫荆巷", 8, 2), ("复兴南苑", "复兴路", 20, 3)],
}
GRID = {"清禾社区": ["QH01","QH02","QH03","QH04"], "钱塘社区": ["QT01","QT02","QT03"], "云栖社区": ["YQ01","YQ02","YQ03"]}
LOCAL_AREAS = ["330102"]*6 + ["330104"]*3 + ["330103","330105","330106","330108","330181","330182"]
MIG_AREAS = [("341221","安徽省临泉县"),("341222","安徽省太和县"),("362330","江西省鄱阳县"),("412726","河南省郸城县"),("412702","河南省项城市"),
             ("511324","四川省仪陇县"),("522427","贵州省威宁县"),("330326","浙江省平阳县"),("331022","浙江省三门县"),("432524","湖南省新化县"),
             ("452226","广西壮族自治区大化县"),("650121","新疆维吾尔自治区乌鲁木齐县"),("421281","湖北省赤壁市"),("320382","江苏省邳州市")]
UYG = [("阿布都","热合曼"),("麦麦提","吐尔逊"),("古丽","努尔"),("艾力","买买提"),("阿依","古丽")]

def addr_of(h):
    return h["xq"], h["b"], h["u"], h["r"]

class P: pass
people = []; households = []
used_ids = set()
def mk_id(area, bd, male):
    while True:
        seq = R.randint(0, 99)*10 + (R.choice([1,3,5,7,9]) if male else R.choice([0,2,4,6,8]))
        s17 = area + bd.strftime("%Y%m%d") + "%03d" % seq
        if s17 not in used_ids:
            used_ids.add(s17); return s17 + chk(s17)
def rbirth(lo, hi):
    y = R.randint(lo, hi); m = R.randint(1,12); d = R.randint(1,28)
    return datetime.date(y, m, d)
def gname(sur, bd, male, n2=None):
    y = bd.year
    if y < 1960: pool = OLD_M if male else OLD_F
    elif y < 1990: pool = MID_M if male else MID_F
    else: pool = YNG_M if male else YNG_F
    n = n2 if n2 else (1 if R.random() < (0.35 if y < 1990 else 0.2) else 2)
    return sur + "".join(R.choice(pool) for _ in range(n))
def phone():
    return R.choice(["13","15","18","17","19","13","13","15"]) + str(R.randint(0,9)) + "%08d" % R.randint(0, 99999999)

pid = 0
def new_person(h, rel, sur, bd, male, area, name=None):
    global pid
    pid += 1
    p = P(); p.key = "P%05d" % pid; p.h = h; p.rel = rel
    p.male = male; p.bd = bd; p.area = area
    p.name = name or gname(sur, bd, male)
    p.id = mk_id(area, bd, male)
    age = (REF - bd).days // 365
    p.age = age
    p.phone = phone() if 16 <= age <= 85 and R.random() < 0.92 else ""
    p.old_phone = phone() if R.random() < 0.3 else ""
    p.tags = set()
    h["m"].append(p); people.append(p); return p

rooms_used = set()
def new_house(mig):
    comm = R.choice(list(COMM))
    xq, road, nb, nu = R.choice(COMM[comm])
    while True:
        b = R.randint(1, nb); u = R.randint(1, nu); fl = R.randint(1, 6 if xq in ("荷花池新村","复兴南苑") else 18); r = fl*100 + R.randint(1, 4)
        if (xq,b,u,r) not in rooms_used: rooms_used.add((xq,b,u,r)); break
    h = {"comm": comm, "xq": xq, "road": road, "b": b, "u": u, "r": r, "m": [], "mig": mig,
         "grid": R.choice(GRID[comm]), "landline": "0571-8%07d" % R.randint(0, 9999999) if R.random() < 0.35 else ""}
    households.append(h); return h

# ---- build population ----
while len(people) < 4000:
    t = R.random()
    if t < 0.72:   # local household
        h = new_house(False); area = R.choice(LOCAL_AREAS)
        sur = R.choice(SUR); kind = R.random()
        if kind < 0.22:   # elderly couple / solitary elderly
            hb = rbirth(1932, 1960)
            head = new_person(h, "户主", sur, hb, R.random() < 0.5, area)
            if R.random() < 0.6:
                sp = new_person(h, "配偶", R.choice(SUR), hb + datetime.timedelta(days=R.randint(-1500, 1500)), not head.male, R.choice(LOCAL_AREAS))
            else:
                head.tags.add("独居")
        else:
            hb = rbirth(1955, 1992)
            male = R.random() < 0.7
            head = new_person(h, "户主", sur, hb, male, area)
            if R.random() < 0.85:
                sp = new_person(h, "配偶", R.choice(SUR), hb + datetime.timedelta(days=R.randint(-1200, 1800 if male else -300)), not male, R.choice(LOCAL_AREAS))
            nk = R.choice([0,1,1,1,2,2])
            kb = max(hb.year + 24, 1978)
            twins = R.random() < 0.03 and nk >= 1
            for i in range(nk):
                if kb > 2024: break
                km = R.random() < 0.5
                if twins and i == 1:
                    prev = h["m"][-1]; kbd = prev.bd; km = prev.male
                    # twins: share first given char
                    pool = (YNG_M if km else YNG_F) if kbd.year >= 1990 else (MID_M if km else MID_F)
                    nm = prev.name[:2] + R.choice(pool) if len(prev.name) == 3 else prev.name[0] + R.choice(pool)
                    k = new_person(h, "子" if km else "女", sur, kbd, km, area, name=nm)
                    k.tags.add("twin"); prev.tags.add("twin")
                else:
                    kbd = rbirth(kb, min(kb + 3, 2024))
                    new_person(h, "子" if km else "女", sur, kbd, km, area)
                kb = kbd.year + R.randint(2, 6)
            if hb.year < 1975 and R.random() < 0.25:  # live-in parent
                par = new_person(h, "父亲" if R.random() < 0.4 else "母亲", sur, rbirth(1930, hb.year - 22), None, area)
                par.male = par.rel == "父亲"
                par.id = mk_id(par.area, par.bd, par.male); 
                par.name = gname(sur if par.male else R.choice(SUR), par.bd, par.male)
            # grandchild
            kids = [m for m in h["m"] if m.rel in ("子","女") and m.age > 28]
            if kids and R.random() < 0.3:
                km = R.random() < 0.5; new_person(h, "孙子" if km else "孙女", sur, rbirth(2012, 2023), km, area)
    elif t < 0.92:  # migrant family / single
        h = new_house(True); area, _ = R.choice(MIG_AREAS)
        if area == "650121" and R.random() < 0.7:
            a, b = R.choice(UYG); hb = rbirth(1975, 2000)
            new_person(h, "户主", "", hb, a not in ("古丽","阿依"), area, name=a + "·" + b)
            continue
        sur = R.choice(SUR); hb = rbirth(1965, 2003)
        head = new_person(h, "户主", sur, hb, R.random() < 0.65, area)
        if R.random() < 0.5:
            new_person(h, "配偶", R.choice(SUR), hb + datetime.timedelta(days=R.randint(-800, 1500)), not head.male, area)
            if R.random() < 0.5:
                km = R.random() < 0.5; new_person(h, "子" if km else "女", sur, rbirth(min(max(hb.year + 22, 2008), 2023), 2023), km, area)
    else:   # shared rental: several unrelated migrant workers
        h = new_house(True)
        for i in range(R.randint(2, 4)):
            area, _ = R.choice(MIG_AREAS)
            new_person(h, "户主" if i == 0 else "其他", R.choice(SUR), rbirth(1970, 2004), R.random() < 0.7, area)
for p in people:
    if p.male is None: p.male = R.random() < 0.5
    p.age = (REF - p.bd).days // 365
    if p.age < 16: p.phone = ""

# household-level phone sharing: elderly without phone -> child's phone, kids -> parent's
for h in households:
    adults = [m for m in h["m"] if m.phone]
    for m in h["m"]:
        m.contact = m.phone
        m.contact_shared = False
        if not m.phone and adults:
            m.contact = R.choice(adults).phone; m.contact_shared = True
        elif not m.phone and h["landline"]:
            m.contact = h["landline"]

# moved within street (stale address in some sources)
for p in people:
    p.old_house = None
for h in households:
    if not h["mig"] and R.random() < 0.06:
        oh = dict(h); old = new_house(False); households.remove(old)
        for m in h["m"]: m.old_house = old

# namesake counts
nc = collections.Counter(p.name for p in people)

# tags
for p in people:
    if R.random() < (0.03 + (0.10 if p.age >= 70 else 0)) and not p.h["mig"]:
        p.tags.add("残疾")
        p.dis_cat = R.choices(["1","2","3","4","5","6","7"], [8,6,3,40,14,20,9])[0]  # 视力 听力 言语 肢体 智力 精神 多重
        p.dis_lvl = R.choices(["1","2","3","4"], [12,25,30,33])[0]
lowinc = [h for h in households if not h["mig"] and R.random() < 0.045]
for h in lowinc:
    for m in h["m"]: m.tags.add("低保")
    h["lowtype"] = R.choice(["低保", "低保", "低保", "低边", "特困"])
for p in people:
    if p.age >= 80 and not p.h["mig"]: p.tags.add("高龄")
zz = R.sample([p for p in people if 18 <= p.age <= 75], 90) + [p for p in people if getattr(p, "dis_cat", "") == "6"]
for p in zz: p.tags.add("重点")

DISCAT = {"1":"视力","2":"听力","3":"言语","4":"肢体","5":"智力","6":"精神","7":"多重"}
DISLVL = {"1":"一级","2":"二级","3":"三级","4":"四级"}

# ---------------- error machinery ----------------
truth = []; noise = []
def log(f, rn, cls): noise.append((f, "", rn, cls))

def mut_name(name):
    """returns (newname, class) or None"""
    chars = list(name)
    if "·" in name:
        return name.replace("·", R.choice([".", "•", "", " "])), "name_dot_variant"
    k = R.random()
    if k < 0.40:
        idx = [i for i, c in enumerate(chars) if i > 0 and c in HOMO]
        if idx:
            i = R.choice(idx); chars[i] = HOMO[chars[i]]; return "".join(chars), "name_homophone"
        if chars[0] in SUR_HOMO:
            chars[0] = SUR_HOMO[chars[0]]; return "".join(chars), "name_homophone"
    if k < 0.52:
        idx = [i for i, c in enumerate(chars) if c in SHAPE]
        if idx:
            i = R.choice(idx); chars[i] = SHAPE[chars[i]]; return "".join(chars), "name_similar_shape"
    if k < 0.64:
        idx = [i for i, c in enumerate(chars) if c in TRAD]
        if idx:
            for i in idx: chars[i] = TRAD[chars[i]]
            return "".join(chars), "name_traditional"
    if k < 0.82:
        if len(chars) == 2: return chars[0] + R.choice(["  ", " ", "\u3000"]) + chars[1], "name_whitespace"
        return name + R.choice([" ", "\u3000"]) if R.random() < 0.5 else " " + name, "name_whitespace"
    if k < 0.90 and len(chars) == 3:
        return chars[0] + chars[2] if R.random() < 0.5 else chars[0] + chars[1], "name_char_dropped"
    if k < 0.95 and len(chars) == 3:
        return chars[0] + chars[2] + chars[1], "name_char_swap"
    idx = [i for i, c in enumerate(chars) if c in HOMO]
    if idx:
        i = R.choice(idx); chars[i] = HOMO[chars[i]]; return "".join(chars), "name_homophone"
    return name + " ", "name_whitespace"

def mut_id(i):
    k = R.random()
    if k < 0.30:
        j = R.randint(6, 16); s = list(i); s[j] = str((int(s[j]) + R.randint(1, 9)) % 10); return "".join(s), "id_digit_typo"
    if k < 0.50:
        for _ in range(20):
            j = R.randint(6, 15); s = list(i)
            if s[j] != s[j+1]: s[j], s[j+1] = s[j+1], s[j]; return "".join(s), "id_transposition"
        return i[:-2] + str((int(i[-2]) + 1) % 10) + i[-1], "id_digit_typo"
    if k < 0.65:
        return i[:17], "id_truncated_17"
    if k < 0.85:
        return i[:-1] + R.choice("0123456789X".replace(i[-1], "")), "id_checkdigit_wrong"
    return i[:10] + i[12:14] + i[10:12] + i[14:], "id_birth_md_swapped"

def id15(i): return i[:6] + i[8:14] + i[14:17]
def excel_mangle(i):
    if i[-1] == "X": return i
    return i[:15] + "000"

def fmt_addr(h, style, person=None):
    xq, b, u, r = h["xq"], h["b"], h["u"], h["r"]
    if style == "full": return f"浙江省杭州市上城区清禾街道{h['comm']}{xq}{b}幢{u}单元{r}室"
    if style == "comm": return f"{h['comm']}{xq}{b}幢{u}单元{r}室"
    if style == "short": return f"{xq}{b}幢{u}单元{r}"
    if style == "dash": return f"{xq}{b}-{u}-{r}"
    if style == "road": return f"上城区{h['road']}{xq}{b}幢{u}单元{r}室"
    if style == "city": return f"杭州市上城区{xq}{b}幢{u}单元{r}室"
    return f"{xq}{b}幢{r}室"
def addr_err(a):
    k = R.random()
    if k < 0.4: return a.replace("幢", "栋", 1), "addr_notation"
    if k < 0.6: return a.replace("单元", "", 1), "addr_unit_dropped"
    if k < 0.8:
        import re
        m = list(re.finditer(r"\d+", a))
        if m:
            mm = R.choice(m); v = int(mm.group()); v2 = v + R.choice([-1, 1, 10, -10]) if v > 11 else v + 1
            return a[:mm.start()] + str(max(1, v2)) + a[mm.end():], "addr_number_typo"
    return a.replace("室", "", 1).replace("幢", "号楼", 1), "addr_notation"

def datefmt(d, style):
    if style == "iso": return d.strftime("%Y-%m-%d")
    if style == "ymd": return d.strftime("%Y%m%d")
    if style == "slash": return f"{d.year}/{d.month}/{d.day}"
    if style == "cn": return f"{d.year}年{d.month}月{d.day}日"
    if style == "ym": return f"{d.year}.{d.month:02d}"

def bd_err(d):
    k = R.random()
    if k < 0.4 and d.day <= 12: return datetime.date(d.year, d.day, d.month), "birth_md_swapped"
    if k < 0.7: return datetime.date(d.year + R.choice([-1, 1, -10, 10]), d.month, d.day), "birth_year_typo"
    return d + datetime.timedelta(days=R.choice([-1, 1, 2, -2, 30, -30])), "birth_day_typo"

def phone_err(p):
    s = list(p)
    if p.startswith("0571"): return p.replace("0571-", ""), "phone_landline_no_areacode"
    k = R.random()
    if k < 0.5:
        j = R.randint(3, 10); s[j] = str((int(s[j]) + R.randint(1, 9)) % 10); return "".join(s), "phone_digit_typo"
    if k < 0.75: return p[:3] + " " + p[3:7] + " " + p[7:], "phone_format"
    return p[:10], "phone_truncated"

class Writer:
    def __init__(self, fname, header, enc):
        self.f = fname; self.header = header; self.enc = enc; self.rows = []
    def add(self, row, person, classes):
        rn = len(self.rows) + 2
        self.rows.append(row); truth.append((self.f, "", rn, person.key))
        for c in classes: log(self.f, rn, c)
    def save(self):
        with open(os.path.join(OUT, self.f), "w", encoding=self.enc, newline="") as fh:
            w = csv.writer(fh); w.writerow(self.header); w.writerows(self.rows)

def common_name(p, cls, rate):
    n = p.name
    if "·" in n and R.random() < 0.4:
        n, c = mut_name(n); cls.append(c)
    elif R.random() < rate:
        n, c = mut_name(n); cls.append(c)
    if nc[p.name] > 1: cls.append("namesake")
    if "twin" in p.tags: cls.append("twin_sibling")
    return n

def shuffle_sorted(rows, key):
    R.shuffle(rows); rows.sort(key=key); return rows

# ============ File 1: 网格实有人口 (largest), UTF-8 BOM ============
f1 = Writer("清禾街道_实有人口基础信息_网格导出_20261125.csv",
            ["序号","所属社区","所属网格","姓名","性别","公民身份号码","出生日期","联系电话","现居住地址","与户主关系","人口类型","人员状态","更新时间"], "utf-8-sig")
items = []
for p in people:
    if R.random() < 0.93: items.append((p, "normal"))
    if p.old_house and R.random() < 0.6: items.append((p, "old"))
    elif R.random() < 0.012: items.append((p, "dup"))
items = shuffle_sorted(items, key=lambda x: (x[0].h["comm"], x[0].h["grid"]))
for k, (p, mode) in enumerate(items):
    cls = []
    h = p.h
    status = "正常"
    if mode == "old":
        h = p.old_house; status = "注销"; cls.append("stale_record_moved_within_street")
    if mode == "dup": cls.append("within_file_duplicate")
    name = common_name(p, cls, 0.03)
    idv = p.id
    r = R.random()
    if r < 0.02: idv = ""; cls.append("id_missing")
    elif r < 0.045: idv, c = mut_id(idv); cls.append(c)
    elif r < 0.06 and idv[-1] == "X": idv = idv[:-1] + "x"; cls.append("id_lowercase_x")
    sex = "男" if p.male else "女"
    if R.random() < 0.006: sex = "女" if p.male else "男"; cls.append("sex_wrong")
    bd = datefmt(p.bd, "iso")
    if R.random() < 0.01: d, c = bd_err(p.bd); bd = datefmt(d, "iso"); cls.append(c)
    if not idv and R.random() < 0.5: bd = ""; cls.append("birth_missing")
    ph = p.contact
    if p.contact_shared: cls.append("phone_of_family_member")
    if ph and R.random() < 0.06: ph = p.old_phone or phone(); cls.append("phone_stale")
    elif ph and R.random() < 0.015: ph, c = phone_err(ph); cls.append(c)
    addr = fmt_addr(h, "comm")
    if R.random() < 0.02: addr, c = addr_err(addr); cls.append(c)
    rel = p.rel if not h["mig"] or p.rel != "其他" else "其他"
    if R.random() < 0.08: rel = ""; cls.append("relation_missing")
    if p.h["mig"]: ptype = "流动人口"
    else: ptype = "户籍人口" if R.random() < 0.85 else "人户分离（户在人在）"
    upd = (REF - datetime.timedelta(days=R.randint(1, 900))).strftime("%Y-%m-%d")
    f1.add([k + 1, h["comm"], h["grid"], name, sex, idv, bd, ph, addr, rel, ptype, status, upd], p, cls)

# ============ File 2: 民政 救助对象 + 高龄补贴, GBK ============
f2 = Writer("民政救助及高龄补贴花名册(2026年11月).csv",
            ["序号","社区","户主姓名","成员姓名","身份证号","与户主关系","救助类别","保障人数","家庭住址","联系电话","备注"], "gbk")
rows = []
for h in lowinc:
    for m in h["m"]: rows.append((m, h["lowtype"]))
for p in people:
    if "高龄" in p.tags and "低保" not in p.tags: rows.append((p, "高龄补贴"))
rows = shuffle_sorted(rows, key=lambda x: (x[0].h["comm"], x[1], x[0].h["xq"], x[0].h["b"], x[0].h["r"]))
for k, (p, cat) in enumerate(rows):
    cls = []; h = p.h
    name = common_name(p, cls, 0.05)
    headp = next((m for m in h["m"] if m.rel == "户主"), p)
    hn = headp.name
    idv = p.id
    r = R.random()
    if r < 0.08: idv = excel_mangle(idv); cls.append("id_excel_precision_loss") if idv != p.id else None
    elif r < 0.11: idv, c = mut_id(idv); cls.append(c)
    elif r < 0.13: idv = ""; cls.append("id_missing")
    elif r < 0.18: idv = "'" + idv; cls.append("id_apostrophe_prefix")
    if p.old_house and R.random() < 0.7:
        addr = fmt_addr(p.old_house, "short"); cls.append("addr_stale")
    else:
        addr = fmt_addr(h, R.choice(["short", "short", "dash"]))
        if R.random() < 0.04: addr, c = addr_err(addr); cls.append(c)
    ph = p.contact or headp.contact
    if ph and ph != p.phone: cls.append("phone_of_family_member")
    if R.random() < 0.08 and ph: ph = ""; cls.append("phone_missing")
    elif ph and R.random() < 0.05: ph = p.old_phone or phone(); cls.append("phone_stale")
    rel = p.rel
    if cat == "高龄补贴":
        hn = p.name if R.random() < 0.5 else hn
        if hn == p.name and p.rel != "户主": rel = "本人"; cls.append("relation_inconsistent")
    n_b = len(h["m"]) if cat != "高龄补贴" else 1
    note = "" if cat != "高龄补贴" else ("90周岁以上" if p.age >= 90 else "80-89周岁")
    if cat == "特困" and R.random() < 0.5: note = "分散供养"
    f2.add([k + 1, h["comm"].replace("社区", "") if R.random() < 0.3 else h["comm"], hn, name, idv, rel, cat, n_b, addr, ph, note], p, cls)

# ============ File 3: 残联 残疾人名册, UTF-8 (no BOM) ============
f3 = Writer("残疾人基本信息名册_清禾街道.csv",
            ["姓名","性别","残疾人证号","残疾类别","残疾等级","出生年月","居住社区","居住地址","监护人","监护人联系电话","发证日期","证件状态"], "utf-8")
rows = [p for p in people if "残疾" in p.tags]
dup3 = [p for p in rows if R.random() < 0.04]
items = [(p, 0) for p in rows] + [(p, 1) for p in dup3]
items = shuffle_sorted(items, key=lambda x: x[0].h["comm"])
for p, d in items:
    cls = []; h = p.h
    if d: cls.append("within_file_duplicate")
    name = common_name(p, cls, 0.05)
    cat, lvl = p.dis_cat, p.dis_lvl
    if d:  # re-assessed certificate: level changed, still same person
        lvl = str(max(1, int(lvl) - 1)); cls.append("attribute_changed_reassessment")
    base = p.id
    r = R.random()
    if r < 0.04: base, c = mut_id(base); cls.append(c)
    elif r < 0.08 and base[-1] == "X": base = base[:-1] + "x"; cls.append("id_lowercase_x")
    cert = base + cat + lvl
    bym = datefmt(p.bd, "ym")
    if R.random() < 0.02: dd, c = bd_err(p.bd); bym = datefmt(dd, "ym"); cls.append(c)
    hh = p.h
    if p.old_house and R.random() < 0.7: hh = p.old_house; cls.append("addr_stale")
    addr = fmt_addr(hh, R.choice(["road", "short", "nounit"]))
    if R.random() < 0.04: addr, c = addr_err(addr); cls.append(c)
    guard = [m for m in h["m"] if m is not p and 20 <= m.age <= 80]
    g = R.choice(guard) if guard and (p.age >= 75 or cat in "56" or p.age < 18 or R.random() < 0.4) else None
    gn = g.name if g else ""
    gp = (g.phone if g else p.contact) or ""
    if g: cls.append("contact_is_guardian")
    if gp and R.random() < 0.08: gp = (p.old_phone or phone()); cls.append("phone_stale")
    sex = "男" if p.male else "女"
    if R.random() < 0.01: sex = "女" if p.male else "男"; cls.append("sex_wrong")
    issued = datefmt(rbirth(2008, 2025), "iso")
    st = "有效" if not d else "换证"
    f3.add([name, sex, cert, DISCAT[cat], DISLVL[lvl], bym, hh["comm"], addr, gn, gp, issued, st], p, cls)

# ============ File 4: 卫健 老年人/慢病健康档案, GBK ============
f4 = Writer("社区卫生服务中心_居民健康档案(65岁以上及慢病).csv",
            ["档案编号","姓名","性别","出生日期","身份证号","联系电话","常住地址","建档日期","责任医生","慢病标识"], "gbk")
rows = [p for p in people if p.age >= 65 and R.random() < 0.85] + [p for p in people if 35 <= p.age < 65 and R.random() < 0.08]
dup4 = [p for p in rows if R.random() < 0.03]
items = [(p, 0) for p in rows] + [(p, 1) for p in dup4]
R.shuffle(items)
docs = ["王医生", "陈丽华", "周建明", "俞晓燕", "沈国强"]
for k, (p, d) in enumerate(items):
    cls = []; h = p.h
    if d: cls.append("within_file_duplicate")
    name = common_name(p, cls, 0.06)
    old_file = R.random() < 0.25 or d  # archives built long ago
    idv = p.id
    if old_file and p.bd.year < 1999 and R.random() < 0.35:
        idv = id15(idv); cls.append("id_legacy_15digit")
    elif R.random() < 0.05: idv = ""; cls.append("id_missing")
    elif R.random() < 0.04: idv, c = mut_id(idv); cls.append(c)
    bdst = R.choice(["ymd", "ymd", "iso", "slash"])
    dd = p.bd
    if R.random() < 0.02: dd, c = bd_err(p.bd); cls.append(c)
    bd = datefmt(dd, bdst)
    sex = "男" if p.male else "女"
    if R.random() < 0.008: sex = ""; cls.append("sex_missing")
    ph = p.contact
    if p.contact_shared: cls.append("phone_of_family_member")
    if old_file and ph and R.random() < 0.4: ph = p.old_phone or h["landline"] or phone(); cls.append("phone_stale")
    elif ph and R.random() < 0.03: ph, c = phone_err(ph); cls.append(c)
    hh = h
    if p.old_house and (old_file or R.random() < 0.5): hh = p.old_house; cls.append("addr_stale")
    addr = fmt_addr(hh, R.choice(["city", "short", "short", "dash"]))
    if R.random() < 0.03: addr, c = addr_err(addr); cls.append(c)
    bdate = datefmt(rbirth(2009 if old_file else 2018, 2026 if not old_file else 2016), "iso")
    ill = R.choices(["", "高血压", "糖尿病", "高血压;糖尿病", "慢阻肺", "脑卒中"], [40, 30, 12, 10, 4, 4])[0]
    f4.add(["3301020%s%05d" % (hh["comm"][:1] == "清" and "1" or hh["comm"][:1] == "钱" and "2" or "3", k + 1), name, sex, bd, idv, ph, addr, bdate, R.choice(docs), ill], p, cls)

# ============ File 5: 流动人口 (公安), UTF-8 BOM ============
f5 = Writer("流动人口登记信息_派出所推送.csv",
            ["姓名","性别","民族","证件号码","户籍地详址","居住地址","联系方式","登记日期","居住事由","居住证状态"], "utf-8-sig")
rows = [p for p in people if p.h["mig"] and p.age >= 16 and R.random() < 0.9]
dup5 = [p for p in rows if R.random() < 0.06]
items = [(p, 0) for p in rows] + [(p, 1) for p in dup5]
R.shuffle(items); items.sort(key=lambda x: x[0].h["comm"])
AREAN = dict(MIG_AREAS)
for p, d in items:
    cls = []; h = p.h
    name = common_name(p, cls, 0.04)
    idv = p.id
    if R.random() < 0.04: idv, c = mut_id(idv); cls.append(c)
    hh = h
    if d:
        cls.append("within_file_duplicate")
        # earlier registration at a previous rental room inside the street
        hh = new_house(True); households.remove(hh); cls.append("addr_stale")
    addr = fmt_addr(hh, R.choice(["road", "road", "comm"]))
    if R.random() < 0.05: addr, c = addr_err(addr); cls.append(c)
    ph = p.contact
    if d and ph: ph = p.old_phone or phone(); cls.append("phone_stale")
    elif ph and R.random() < 0.03: ph, c = phone_err(ph); cls.append(c)
    nat = "维吾尔族" if "·" in p.name else ("壮族" if p.area.startswith("45") and R.random() < 0.5 else "汉族")
    hj = AREAN.get(p.area, "") + R.choice(["", "城关镇", "新集村", "李庄村", "河口镇"]) + ("%d号" % R.randint(1, 99) if R.random() < 0.5 else "")
    reg = (REF - datetime.timedelta(days=R.randint(30, 2500) + (400 if d else 0))).strftime("%Y%m%d")
    st = "已注销" if d else R.choice(["有效", "有效", "有效", "已过期"])
    f5.add([name, "男" if p.male else "女", nat, idv, hj, addr, ph, reg, R.choice(["务工", "务工", "经商", "随迁", "务工"]), st], p, cls)

# ============ File 6: 综治 重点人员, GBK ============
f6 = Writer("综治中心重点人员台账.csv",
            ["姓名","曾用名","身份证号码","性别","年龄","手机号码","现住址","人员类别","管控等级","包联干部"], "gbk")
rows = [p for p in people if "重点" in p.tags]
R.shuffle(rows)
for p in rows:
    cls = []; h = p.h
    name = common_name(p, cls, 0.04)
    alias = ""
    if R.random() < 0.05 and len(p.name) >= 2 and "·" not in p.name:
        alias = p.name; name = p.name[0] + R.choice(MID_M if p.male else MID_F) + R.choice(YNG_M if p.male else YNG_F)
        cls = [c for c in cls if not c.startswith("name_")]; cls.append("name_changed_alias_given")
    idv = p.id
    if R.random() < 0.05: idv, c = mut_id(idv); cls.append(c)
    elif R.random() < 0.04: idv = ""; cls.append("id_missing")
    age = p.age
    if R.random() < 0.3: age += 1; cls.append("age_off_by_one")
    ph = p.phone or p.contact
    if ph and R.random() < 0.1: ph = p.old_phone or phone(); cls.append("phone_stale")
    addr = fmt_addr(h, R.choice(["short", "nounit", "road"]))
    if R.random() < 0.05: addr, c = addr_err(addr); cls.append(c)
    cat = "精神障碍患者" if getattr(p, "dis_cat", "") == "6" else R.choice(["社区矫正对象", "信访重点人员", "刑满释放人员", "吸毒康复人员", "涉稳重点人员"])
    f6.add([name, alias, idv, "男" if p.male else "女", age, ph, addr, cat, R.choice(["一般", "关注", "重点"]), R.choice(["张建国", "刘晓敏", "周丽", "沈杰"])], p, cls)

for w in (f1, f2, f3, f4, f5, f6): w.save()
with open(os.path.join(OUT, "truth.csv"), "w", encoding="utf-8", newline="") as fh:
    w = csv.writer(fh); w.writerow(["file", "sheet", "row_number", "person_key"]); w.writerows(truth)
with open(os.path.join(OUT, "noise_log.csv"), "w", encoding="utf-8", newline="") as fh:
    w = csv.writer(fh); w.writerow(["file", "sheet", "row_number", "error_class"]); w.writerows(noise)
print("people", len(people), "distinct in truth", len(set(t[3] for t in truth)))
for w in (f1, f2, f3, f4, f5, f6): print(len(w.rows), w.f, w.enc)
cc = collections.Counter(n[3] for n in noise)
for k, v in sorted(cc.items(), key=lambda x: -x[1]): print(v, k)
