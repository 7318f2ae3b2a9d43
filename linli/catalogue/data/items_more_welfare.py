"""Seed items added in issue 16 to grow the catalogue toward a real street's list: civil
affairs (民政), the disabled persons' federation (残联), human resources (人社), medical
insurance (医保), health (卫健), and the people's organisations a street hall also serves
(工会, 妇联, 红十字会). Codes continue each department's series; existing codes never change."""

from __future__ import annotations

from linli.catalogue.data.items_civil import DISABILITY_LAW, ELDER_LAW, SOCIAL_AID_LAW
from linli.catalogue.data.items_labour import EMPLOYMENT_LAW, INSURANCE_LAW
from linli.catalogue.data.spec import (
    DISTRICT_STEPS,
    SeedItem,
    age_at_least,
    alive,
    all_of,
    date,
    number,
    select,
    text,
    textarea,
)

FUNERAL_LAW = "《殡葬管理条例》（国务院令第225号）；《浙江省殡葬管理条例》"
MEDICAL_SECURITY_LAW = "《医疗保障基金使用监督管理条例》；" + INSURANCE_LAW
WORK_INJURY_LAW = "《工伤保险条例》（国务院令第586号）"

CIVIL_AFFAIRS_MORE: tuple[SeedItem, ...] = (
    SeedItem(
        "MZ025", "最低生活保障待遇变更（增发、减发、停发）", "民政", "street", "promised", 15, 10,
        "已享受最低生活保障的家庭，人口、收入或财产状况发生变化的，应当及时告知，经核查后增发、减发或停发。",
        ("id_card", "hukou_book", "family_property", "?agent_id"),
        SOCIAL_AID_LAW + "；《最低生活保障审核确认办法》（民发〔2021〕57号）",
        keywords="低保变更 低保停发 低保减发 低保增发 收入变了 家里有人工作了 低保复核 停保 退出低保",
        fields=(select("change", "变化情况", [("income_up", "收入增加"), ("income_down", "收入减少"),
                                             ("member_in", "家庭人口增加"), ("member_out", "家庭人口减少"),
                                             ("property", "财产变化")]),
                textarea("details", "变化说明")),
    ),
    SeedItem(
        "MZ026", "生活无着的流浪乞讨人员救助", "民政", "district", "promised", 1, 1,
        "因自身无力解决食宿、无亲友投靠、又不享受城市最低生活保障或农村五保供养，正在城市流浪乞讨度日的人员。",
        ("?id_card", "?unit_proof"), "《城市生活无着的流浪乞讨人员救助管理办法》（国务院令第381号）",
        keywords="流浪 乞讨 流浪汉 无家可归 露宿街头 救助站 走失 回家路费 返乡",
        steps=("发现人员后告知街道、社区或拨打救助热线", "救助管理站甄别接收，提供食宿和医疗",
               "查找亲属，协助返乡或转介安置"),
        fields=(textarea("situation", "人员情况和所在位置"),),
    ),
    SeedItem(
        "MZ027", "老年人能力评估申请", "民政", "street", "promised", 20, 10,
        "需要享受居家养老服务补贴、护理补贴、入住养老机构或家庭养老床位服务的老年人，"
        "由第三方评估机构上门评估其自理能力等级。",
        ("id_card", "?diagnosis", "?agent_id"), ELDER_LAW + "；《老年人能力评估规范》（GB/T 42195）",
        keywords="能力评估 失能评估 自理能力 评估等级 上门评估 失能等级 护理等级",
        fields=(select("purpose", "评估用途", [("home_care", "居家养老服务"), ("allowance", "护理补贴"),
                                              ("institution", "入住养老机构"), ("bed", "家庭养老床位")]),),
    ),
    SeedItem(
        "MZ028", "老年人日间照料服务申请", "民政", "community", "promised", 10, 5,
        "生活基本能自理或半失能、白天家中无人照料的老年人，可申请到社区居家养老服务照料中心接受日托服务。",
        ("id_card", "?care_assessment", "?agent_id"), ELDER_LAW + "；《浙江省社会养老服务促进条例》",
        keywords="日托 日间照料 白天托管 照料中心 老人白天 托老所 居家养老服务中心 老年活动中心",
        fields=(select("days", "需要的时段", [("weekday", "工作日白天"), ("all", "每天白天"),
                                             ("some", "每周部分日子")]),),
    ),
    SeedItem(
        "MZ029", "独居老人紧急呼叫设备安装申请", "民政", "community", "promised", 15, 10,
        "独居、空巢、高龄或失能的老年人，可申请在家中安装紧急呼叫、跌倒报警、门磁等智能养老设备，"
        "设备告警接入社区和网格员。",
        ("id_card", "?agent_id"), ELDER_LAW,
        keywords="一键呼叫 紧急呼叫 呼叫器 智能手环 跌倒报警 门磁 独居老人 空巢老人 智慧养老 安全设备",
        fields=(select("device", "需要的设备", [("call", "紧急呼叫器"), ("fall", "跌倒报警"),
                                               ("door", "门磁感应"), ("band", "智能手环")], multi=True),),
        rule=all_of(age_at_least(60), alive()),
    ),
    SeedItem(
        "MZ030", "生态安葬奖补申请", "民政", "district", "promised", 20, 10,
        "选择骨灰撒散、树葬、花坛葬、草坪葬、海葬等节地生态安葬方式的逝者家属。",
        ("id_card", "death_cert", "cremation_cert", "bank_account"), FUNERAL_LAW,
        keywords="生态葬 树葬 海葬 花葬 草坪葬 骨灰撒散 节地安葬 安葬补贴 墓地",
        steps=DISTRICT_STEPS,
        fields=(text("deceased_name", "逝者姓名", max_length=50),
                select("burial", "安葬方式", [("tree", "树葬"), ("flower", "花坛葬"), ("lawn", "草坪葬"),
                                              ("sea", "海葬"), ("scatter", "骨灰撒散")])),
    ),
    SeedItem(
        "MZ031", "婚姻登记档案查询", "民政", "district", "promised", 5, 1,
        "婚姻当事人或其委托人查询、复制本人在本地办理的结婚、离婚登记档案。",
        ("id_card", "?agent_id"), "《婚姻登记档案管理办法》",
        keywords="婚姻档案 结婚档案 离婚档案 婚姻记录 结婚证明 婚姻状况 查结婚登记",
        steps=DISTRICT_STEPS,
        fields=(select("record", "查询内容", [("marriage", "结婚登记"), ("divorce", "离婚登记")]),
                textarea("purpose", "查询用途")),
    ),
    SeedItem(
        "MZ032", "遗体接运预约", "民政", "district", "instant", 1, 0,
        "居民在家中或医院去世后，家属预约殡仪馆派车接运遗体（凭死亡证明）。",
        ("death_cert", "id_card"), FUNERAL_LAW,
        keywords="殡仪馆 接遗体 运遗体 灵车 殡仪车 在家去世 人走了叫车 殡葬服务",
        fields=(text("deceased_name", "逝者姓名", max_length=50), text("address", "接运地址", max_length=200),
                date("pickup_on", "接运日期")),
        rule=all_of(alive()),
    ),
    SeedItem(
        "MZ033", "慈善救助申请", "民政", "street", "promised", 20, 15,
        "经政府救助后基本生活仍有困难，或遭遇重大疾病、意外等特殊困难的家庭，向街道慈善分会申请慈善援助。",
        ("id_card", "hukou_book", "?medical_bills", "?accident_proof", "econ_check_auth"),
        "《中华人民共和国慈善法》；《浙江省实施〈中华人民共和国慈善法〉办法》",
        keywords="慈善 慈善总会 慈善救助 爱心救助 社会捐助 慈善援助 结对帮扶 爱心款",
        fields=(select("hardship_cause", "困难原因", [("illness", "重大疾病"), ("accident", "意外事故"),
                                                      ("study", "子女就学"), ("other", "其他")]),
                textarea("situation", "困难情况说明")),
    ),
)

DISABLED_PERSONS_MORE: tuple[SeedItem, ...] = (
    SeedItem(
        "CL013", "残疾人职业技能培训补贴", "残联", "street", "promised", 20, 15,
        "有就业愿望和培训需求、持第二代残疾人证的劳动年龄段残疾人，参加职业技能培训的。",
        ("id_card", "disability_cert", "?training_cert", "bank_account"), DISABILITY_LAW + "；《残疾人就业条例》",
        keywords="残疾人培训 学手艺 残疾人技能 盲人按摩培训 残疾人学技术 电商培训",
    ),
    SeedItem(
        "CL014", "残疾人就业援助", "残联", "street", "promised", 20, 15,
        "有劳动能力和就业意愿、处于失业状态的残疾人，申请职业介绍、岗位推荐和按比例就业安置。",
        ("id_card", "disability_cert"), "《残疾人就业条例》（国务院令第488号）",
        keywords="残疾人找工作 残疾人就业 残疾人上班 按比例就业 岗位推荐 残疾人招聘 福利企业",
        fields=(select("wish", "就业意向", [("factory", "企业上岗"), ("welfare", "福利企业"),
                                           ("home", "居家就业"), ("self", "自主创业")]),),
    ),
    SeedItem(
        "CL015", "精神障碍患者免费服药补助", "残联", "street", "promised", 20, 15,
        "在册管理的严重精神障碍患者，门诊规定基本药物费用给予免费或补助。",
        ("id_card", "diagnosis", "?disability_cert", "?agent_id"),
        "《中华人民共和国精神卫生法》；" + DISABILITY_LAW,
        keywords="精神病 精神分裂 免费服药 吃药补助 精神障碍 抑郁症 躁狂 精神残疾 监护补助",
    ),
    SeedItem(
        "CL016", "残疾人公共交通优待卡办理", "残联", "street", "promised", 10, 5,
        "持第二代残疾人证的本地户籍残疾人，凭卡免费乘坐市内公交、地铁。",
        ("id_card", "disability_cert", "photo"), DISABILITY_LAW,
        keywords="残疾人公交卡 残疾人坐公交 免费坐车 地铁免费 爱心卡 优待卡 乘车卡",
    ),
)

LABOUR_MORE: tuple[SeedItem, ...] = (
    SeedItem(
        "RS019", "社会保险参保缴费证明打印", "人社", "street", "instant", 1, 0,
        "参保人员打印本人社会保险参保缴费记录，用于购房、落户、入学、积分等。",
        ("id_card",), INSURANCE_LAW,
        keywords="社保证明 参保证明 缴费证明 社保记录 社保清单 打印社保 缴费明细 社保缴纳证明",
        rule=all_of(alive()),
    ),
    SeedItem(
        "RS020", "职工基本养老保险退休申请", "人社", "district", "promised", 20, 10,
        "达到法定退休年龄、累计缴费满15年的企业职工和灵活就业参保人员，申请办理退休并领取基本养老金。",
        ("id_card", "personnel_file", "bank_account"), INSURANCE_LAW + "；《国务院关于工人退休、退职的暂行办法》",
        keywords="退休 办退休 退休手续 到年龄退休 退休审批 职工退休 领退休工资 提前退休",
        steps=DISTRICT_STEPS,
        fields=(date("retire_on", "申请退休日期"),),
    ),
    SeedItem(
        "RS021", "退休人员社会化管理服务登记", "人社", "community", "instant", 1, 0,
        "企业退休人员办理退休后，将档案关系和日常管理转入居住地社区，享受社区的退休人员服务。",
        ("id_card", "pension_cert"), INSURANCE_LAW,
        keywords="退休人员登记 退休了去社区 社会化管理 退管 退休人员服务 退休档案",
        rule=all_of(alive()),
    ),
    SeedItem(
        "RS022", "求职登记和职业介绍", "人社", "street", "instant", 1, 0,
        "有就业愿望的劳动者在街道就业服务窗口登记求职意向，免费获得职业指导、岗位推荐和招聘会信息。",
        ("id_card",), EMPLOYMENT_LAW,
        keywords="找工作 求职 介绍工作 职业介绍 招聘会 推荐工作 岗位信息 打工 找活干 职业指导",
        fields=(text("wanted", "求职意向", max_length=100),),
        rule=all_of(alive()),
    ),
    SeedItem(
        "RS023", "工伤认定申请", "人社", "district", "promised", 60, 30,
        "职工在工作时间、工作场所内因工作原因受到事故伤害或患职业病的，由单位或本人申请工伤认定。",
        ("id_card", "work_injury", "diagnosis"), WORK_INJURY_LAW,
        keywords="工伤 上班受伤 工作受伤 工伤认定 职业病 干活受伤 工地受伤 工伤赔偿",
        steps=DISTRICT_STEPS,
        fields=(date("injured_on", "受伤日期"), text("employer", "用人单位"), textarea("details", "事故经过")),
    ),
    SeedItem(
        "RS024", "职工基本养老保险关系转移接续", "人社", "district", "promised", 45, 15,
        "参加职工基本养老保险的人员跨省、跨统筹地区流动就业的，转移养老保险关系和缴费年限。",
        ("id_card", "insurance_transfer"), INSURANCE_LAW + "；《城镇企业职工基本养老保险关系转移接续暂行办法》",
        keywords="养老保险转移 社保转移 社保转过来 换城市工作 转社保 养老保险接续 缴费年限合并",
        steps=DISTRICT_STEPS,
    ),
    SeedItem(
        "RS025", "灵活就业人员职工养老保险参保登记", "人社", "street", "instant", 1, 0,
        "无雇工的个体工商户、未在用人单位参保的非全日制从业人员及其他灵活就业人员，以个人身份参加职工基本养老保险。",
        ("id_card", "bank_account"), INSURANCE_LAW,
        keywords="个人交社保 自己交社保 个人参保 以个人身份参保 灵活就业社保 个体户社保 职工养老保险",
        rule=all_of(alive()),
    ),
    SeedItem(
        "RS026", "企业职工丧葬补助金和抚恤金申领", "人社", "district", "promised", 10, 5,
        "参加职工基本养老保险的人员（含退休人员）因病或非因工死亡，其遗属申领丧葬补助金和抚恤金。",
        ("id_card", "death_cert", "hukou_book", "bank_account"), INSURANCE_LAW,
        keywords="退休职工去世 丧葬费 抚恤金 遗属待遇 职工死亡 退休工人去世 丧葬补助",
        steps=DISTRICT_STEPS,
        fields=(text("deceased_name", "逝者姓名", max_length=50), date("died_on", "死亡日期")),
    ),
)

MEDICAL_INSURANCE_MORE: tuple[SeedItem, ...] = (
    SeedItem(
        "YB007", "长期护理保险待遇申请", "医保", "district", "promised", 25, 15,
        "参加基本医疗保险、因年老、疾病或伤残导致长期失能，经评估达到重度失能等级的人员。",
        ("id_card", "diagnosis", "care_assessment", "?agent_id"), MEDICAL_SECURITY_LAW + "；《关于扩大长期护理保险制度试点的指导意见》",
        keywords="长护险 长期护理保险 失能护理 护理保险 卧床老人护理 上门护理 重度失能",
        steps=DISTRICT_STEPS,
        fields=(select("service", "护理方式", [("home", "居家上门护理"), ("institution", "机构护理")]),),
    ),
    SeedItem(
        "YB008", "职工医保个人账户家庭共济备案", "医保", "street", "instant", 1, 0,
        "参加职工基本医疗保险的人员，将个人账户与配偶、父母、子女绑定，家庭成员看病购药可用其个人账户支付。",
        ("id_card", "?hukou_book"), MEDICAL_SECURITY_LAW,
        keywords="家庭共济 医保共济 个人账户给家人用 医保卡给父母用 绑定家人 医保账户共用",
        fields=(text("member_name", "共济家庭成员姓名", max_length=50),
                select("relation", "关系", [("spouse", "配偶"), ("parent", "父母"), ("child", "子女")])),
        rule=all_of(alive()),
    ),
    SeedItem(
        "YB009", "生育津贴和生育医疗费用申领", "医保", "district", "promised", 20, 10,
        "参加职工基本医疗保险（生育保险）的职工生育或实施计划生育手术的，申领生育医疗费用和生育津贴。",
        ("id_card", "birth_cert", "medical_bills", "bank_account"), INSURANCE_LAW,
        keywords="生育津贴 生育保险 产假工资 生孩子报销 生育报销 顺产 剖腹产 生育金",
        steps=DISTRICT_STEPS,
        fields=(date("born_on", "分娩日期"),),
    ),
    SeedItem(
        "YB010", "医疗费用零星报销", "医保", "district", "promised", 20, 15,
        "因急诊、异地就医未能直接结算或其他原因全额垫付医疗费用的参保人员，凭票据申请手工报销。",
        ("id_card", "medical_bills", "?discharge_summary", "bank_account"), MEDICAL_SECURITY_LAW,
        keywords="手工报销 零星报销 垫付 医药费报销 发票报销 没刷医保卡 全自费 事后报销",
        steps=DISTRICT_STEPS,
        fields=(number("amount", "垫付金额（元）", max=10000000),),
    ),
    SeedItem(
        "YB011", "困难人员城乡居民医保参保资助", "医保", "street", "promised", 15, 10,
        "特困人员、低保对象、低保边缘家庭成员等困难人员参加城乡居民医保，个人缴费部分由政府全额或定额资助。",
        ("id_card", "hukou_book"), MEDICAL_SECURITY_LAW + "；" + SOCIAL_AID_LAW,
        keywords="医保资助 交不起医保 医保费减免 参保资助 低保医保 困难参保 代缴医保",
    ),
)

HEALTH_MORE: tuple[SeedItem, ...] = (
    SeedItem(
        "WJ012", "母子健康手册办理", "卫健", "community", "instant", 1, 0,
        "怀孕的妇女在孕13周前到居住地社区卫生服务中心建册，享受免费孕期检查和产后访视。",
        ("id_card", "?pregnancy_proof"), "《中华人民共和国母婴保健法》",
        keywords="建册 建卡 孕妇建档 母子健康手册 孕检 产检 怀孕建档 产后访视 小卡",
        rule=all_of(alive()),
    ),
    SeedItem(
        "WJ013", "居民死亡医学证明（推断）书开具", "卫健", "community", "instant", 1, 0,
        "居民在家中正常死亡的，由社区卫生服务中心（或乡镇卫生院）调查核实后开具死亡医学证明（推断）书。",
        ("id_card", "hukou_book", "?diagnosis"), "《人口死亡信息登记管理规定》",
        keywords="死亡证明 在家去世 家里去世 开死亡证明 死亡医学证明 正常死亡 老人在家走了",
        fields=(text("deceased_name", "逝者姓名", max_length=50), date("died_on", "死亡日期")),
        rule=all_of(alive()),
    ),
    SeedItem(
        "WJ014", "病残儿医学鉴定", "卫健", "district", "promised", 30, 20,
        "夫妻子女经医疗机构诊断为残疾或患有严重疾病，需进行病残儿医学鉴定的。",
        ("id_card", "hukou_book", "birth_cert", "diagnosis"), "《病残儿医学鉴定管理办法》",
        keywords="病残儿 残疾孩子鉴定 孩子有病鉴定 病残儿鉴定 先天疾病",
        steps=DISTRICT_STEPS,
    ),
    SeedItem(
        "WJ015", "从业人员健康证明办理", "卫健", "district", "promised", 5, 3,
        "从事食品生产经营、公共场所服务等直接为顾客服务的人员，上岗前和每年进行健康检查并取得健康证明。",
        ("id_card", "photo"), "《中华人民共和国食品安全法》；《公共场所卫生管理条例》",
        keywords="健康证 办健康证 从业体检 餐饮健康证 食品健康证 上岗体检",
        steps=DISTRICT_STEPS,
    ),
    SeedItem(
        "WJ016", "适龄妇女“两癌”免费检查", "卫健", "community", "instant", 1, 0,
        "35至64周岁的本地户籍妇女，每三年可享受一次免费宫颈癌和乳腺癌检查。",
        ("id_card",), "《国家基本公共卫生服务规范》；《中国妇女发展纲要》",
        keywords="两癌筛查 宫颈癌 乳腺癌 妇女体检 妇科检查 女性免费检查",
        rule=all_of(age_at_least(35), alive()),
    ),
)

PEOPLES_ORGANISATIONS: tuple[SeedItem, ...] = (
    SeedItem(
        "GH001", "困难职工帮扶救助", "工会", "street", "promised", 20, 15,
        "工会会员家庭因病、因灾、子女就学或下岗失业导致生活困难的，由街道总工会给予帮扶救助。",
        ("id_card", "unit_proof", "?medical_bills", "bank_account"), "《中华人民共和国工会法》；《困难职工帮扶工作办法》",
        keywords="工会 困难职工 职工帮扶 送温暖 工会补助 会员困难 职工救助",
        fields=(select("cause", "困难原因", [("illness", "因病"), ("disaster", "因灾"), ("study", "子女就学"),
                                            ("jobless", "下岗失业"), ("other", "其他")]),),
    ),
    SeedItem(
        "FL001", "困难妇女“两癌”救助", "妇联", "street", "promised", 20, 15,
        "经济困难、确诊宫颈癌或乳腺癌的妇女，向街道妇联申请一次性救助金。",
        ("id_card", "diagnosis", "econ_check_auth", "bank_account"), "《中华人民共和国妇女权益保障法》",
        keywords="妇联 两癌救助 乳腺癌救助 宫颈癌救助 困难妇女 女性癌症",
    ),
    SeedItem(
        "HS001", "遗体和人体器官捐献登记", "红十字会", "district", "instant", 1, 0,
        "自愿在身后捐献遗体、眼角膜或人体器官的公民，办理捐献志愿登记。",
        ("id_card",), "《中华人民共和国红十字会法》；《人体器官捐献和移植条例》",
        keywords="遗体捐献 器官捐献 捐眼角膜 角膜捐献 捐遗体 红十字会 身后捐献",
        rule=all_of(age_at_least(18), alive()),
    ),
    SeedItem(
        "HS002", "造血干细胞捐献志愿登记", "红十字会", "community", "instant", 1, 0,
        "18至45周岁、身体健康、自愿捐献造血干细胞的公民，采血入库登记。",
        ("id_card",), "《中华人民共和国红十字会法》",
        keywords="骨髓捐献 造血干细胞 中华骨髓库 捐骨髓 采血入库",
        rule=all_of(age_at_least(18), alive()),
    ),
)

MORE_WELFARE: tuple[SeedItem, ...] = (
    *CIVIL_AFFAIRS_MORE, *DISABLED_PERSONS_MORE, *LABOUR_MORE, *MEDICAL_INSURANCE_MORE, *HEALTH_MORE,
    *PEOPLES_ORGANISATIONS,
)
