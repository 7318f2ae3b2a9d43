"""Seed items added in issue 16: public security (公安), housing (住建), veterans and the
armed-forces department (退役军人, 人武部), urban management and environment (城管, 生态环境),
the community itself (社区), justice (司法), market regulation (市场监管) and education (教育).
Codes continue each department's series; existing codes never change."""

from __future__ import annotations

from linli.catalogue.data.items_other import CITY_LAW, HUKOU_LAW, RESIDENCE_LAW, VETERAN_LAW
from linli.catalogue.data.spec import (
    DISTRICT_STEPS,
    SeedItem,
    age_at_least,
    alive,
    all_of,
    date,
    migrant,
    number,
    select,
    text,
    textarea,
)

MARKET_LAW = "《中华人民共和国市场主体登记管理条例》；《促进个体工商户发展条例》"
GREENING_LAW = "《城市绿化条例》；《浙江省城市绿化管理办法》"
ROAD_LAW = "《城市道路管理条例》"

POLICE_MORE: tuple[SeedItem, ...] = (
    SeedItem(
        "GA013", "居民户口簿补领、换领", "公安", "street", "instant", 1, 0,
        "居民户口簿遗失、损坏或户主变更需要换发的，由户主或户内成员申请补领、换领。",
        ("id_card", "?loss_statement"), HUKOU_LAW,
        keywords="户口本丢了 户口本坏了 补户口本 换户口本 户口簿遗失 户口本补办 户口本换新",
        fields=(select("reason", "补换原因", [("lost", "遗失"), ("damaged", "损坏"), ("head", "户主变更")]),),
        rule=all_of(alive()),
    ),
    SeedItem(
        "GA014", "户籍信息变更更正", "公安", "street", "promised", 20, 10,
        "户口登记项目（姓名、出生日期、民族、文化程度、婚姻状况等）有误需要更正，或依法变更姓名的。",
        ("id_card", "hukou_book", "?birth_cert", "?unit_proof"), HUKOU_LAW,
        keywords="改名字 改名 户口信息错了 出生日期错了 生日改 身份证信息错 户籍更正 民族更改 名字写错",
        fields=(select("field", "变更项目", [("name", "姓名"), ("birth", "出生日期"), ("ethnicity", "民族"),
                                            ("other", "其他")]),
                textarea("reason", "变更理由")),
    ),
    SeedItem(
        "GA015", "立户分户", "公安", "street", "promised", 10, 5,
        "在同一住址有独立房产、或成年子女结婚等符合分户条件的，申请单独立户。",
        ("id_card", "hukou_book", "property_cert", "?marriage_cert"), HUKOU_LAW,
        keywords="分户 立户 单独立户 户口分出来 自己当户主 分户口 独立户口",
    ),
    SeedItem(
        "GA016", "居住证遗失补领", "公安", "street", "promised", 15, 7,
        "居住证遗失或损坏的持证人，在居住地申请补领、换领。",
        ("id_card", "photo", "?loss_statement"), RESIDENCE_LAW,
        keywords="居住证丢了 居住证掉了 补居住证 居住证坏了 居住证遗失 居住证补办",
        rule=all_of(migrant(), alive()),
    ),
    SeedItem(
        "GA017", "犬只登记证年审", "公安", "street", "instant", 1, 0,
        "已登记犬只每年凭狂犬病免疫证明办理年审（延续），未年审的犬只登记证失效。",
        ("dog_cert", "dog_immunity", "id_card"), "《浙江省犬类管理规定》；《杭州市限制养犬规定》",
        keywords="狗证年审 犬证年检 狗证到期 养狗年审 狗证续期 打狂犬疫苗",
        rule=all_of(alive()),
    ),
    SeedItem(
        "GA018", "电动自行车登记上牌", "公安", "street", "instant", 1, 0,
        "购买符合国家标准的电动自行车，车主凭购车凭证和身份证办理登记，领取号牌和行驶证。",
        ("id_card", "ebike_invoice"), "《中华人民共和国道路交通安全法》；《浙江省电动自行车管理条例》",
        keywords="电动车上牌 电瓶车上牌 电动车牌照 电动车登记 新国标 电动车过户 车牌",
        fields=(text("brand", "品牌型号", max_length=60), text("frame_no", "整车编码", max_length=40)),
        rule=all_of(age_at_least(16), alive()),
    ),
    SeedItem(
        "GA019", "户口迁出", "公安", "street", "promised", 10, 5,
        "迁往外省市落户的，凭迁入地准予迁入证明办理迁出（已实行迁移“一站式”办理的地区由迁入地直接办理）。",
        ("id_card", "hukou_book", "hukou_migration"), HUKOU_LAW,
        keywords="户口迁走 迁出户口 户口迁到外地 户口转出去 迁移证 户口迁出",
    ),
)

HOUSING_MORE: tuple[SeedItem, ...] = (
    SeedItem(
        "ZJ007", "房屋安全鉴定申请", "住建", "district", "promised", 30, 20,
        "房屋出现裂缝、倾斜、沉降等安全隐患，或改变结构、使用功能前，房屋所有人或使用人申请安全鉴定。",
        ("id_card", "property_cert", "site_photos"), "《城市危险房屋管理规定》；《浙江省房屋使用安全管理条例》",
        keywords="危房 房子开裂 墙裂了 房屋鉴定 房屋倾斜 楼房下沉 房屋安全 裂缝",
        steps=DISTRICT_STEPS,
        fields=(text("address", "房屋地址", max_length=200), textarea("damage", "隐患情况")),
    ),
    SeedItem(
        "ZJ008", "业主大会成立和业主委员会备案", "住建", "street", "promised", 30, 15,
        "住宅小区首次召开业主大会会议、选举产生业主委员会或业主委员会换届的，向街道备案。",
        ("owner_consent", "application_form"), "《物业管理条例》；《浙江省物业管理条例》",
        keywords="业委会 业主委员会 业主大会 成立业委会 业委会换届 业委会备案 选业委会",
        fields=(text("compound", "小区名称"), date("meeting_on", "业主大会召开日期")),
    ),
    SeedItem(
        "ZJ009", "房屋白蚁防治申请", "住建", "district", "promised", 10, 5,
        "房屋发现白蚁危害的，房屋所有人或物业向白蚁防治机构申请灭治。",
        ("id_card", "?site_photos"), "《城市房屋白蚁防治管理规定》",
        keywords="白蚁 蚂蚁 虫蛀 木头被蛀 灭白蚁 白蚁防治",
        steps=DISTRICT_STEPS,
        fields=(text("address", "房屋地址", max_length=200),),
    ),
)

VETERANS_MORE: tuple[SeedItem, ...] = (
    SeedItem(
        "TY008", "退役军人职业技能培训补助", "退役军人", "street", "promised", 20, 15,
        "自主就业退役士兵在退役后一年内参加职业技能培训的，培训费用由政府补助。",
        ("id_card", "veteran_cert", "?training_cert"), VETERAN_LAW + "；《退役士兵安置条例》",
        keywords="退伍培训 退役士兵培训 学技能 退役军人学技术 免费培训",
    ),
    SeedItem(
        "BY001", "兵役登记和应征报名", "人武部", "street", "instant", 1, 0,
        "年满18周岁的男性公民应当按照规定进行兵役登记；符合条件的青年（含女青年、大学生）报名应征入伍。",
        ("id_card", "hukou_book", "?diploma"), "《中华人民共和国兵役法》；《征兵工作条例》",
        keywords="兵役登记 征兵 报名参军 当兵报名 应征入伍 大学生参军 武装部",
        rule=all_of(age_at_least(17), alive()),
    ),
)

CITY_MORE: tuple[SeedItem, ...] = (
    SeedItem(
        "CG010", "城市树木修剪、迁移审批", "城管", "district", "promised", 15, 10,
        "影响居民采光、通风、安全或管线的城市树木需要修剪、迁移、砍伐的，由业主、物业或单位申请。",
        ("id_card", "tree_info"), GREENING_LAW,
        keywords="修树 砍树 树太高 挡光 树枝 树木修剪 迁树 挡阳光 树枝伸进窗户",
        steps=DISTRICT_STEPS,
        fields=(text("address", "树木位置", max_length=200), number("trees", "树木数量", min=1, max=500)),
    ),
    SeedItem(
        "CG011", "挖掘城市道路审批", "城管", "district", "promised", 10, 5,
        "因工程建设需要挖掘城市道路、人行道的单位或个人，提出申请并缴纳修复费用。",
        ("id_card", "venue_plan", "?design_plan"), ROAD_LAW,
        keywords="挖路 开挖道路 破路 挖马路 管道施工 掘路",
        steps=DISTRICT_STEPS,
        fields=(text("road", "挖掘地点", max_length=200), date("from_date", "开工日期"), date("to_date", "完工日期")),
    ),
    SeedItem(
        "CG012", "建筑垃圾处置核准", "城管", "district", "promised", 10, 5,
        "施工单位或个人处置工程渣土、拆除垃圾等建筑垃圾，申请运输和消纳核准。",
        ("id_card", "?business_license", "venue_plan"), CITY_LAW + "；《城市建筑垃圾管理规定》",
        keywords="渣土 建筑垃圾 渣土车 工程垃圾 拆房垃圾 消纳",
        steps=DISTRICT_STEPS,
    ),
    SeedItem(
        "CG013", "“门前三包”责任书签订", "城管", "street", "instant", 1, 0,
        "沿街商铺和单位负责门前市容整洁、环境卫生和秩序（门前三包），开业时与街道签订责任书。",
        ("id_card", "business_license"), CITY_LAW,
        keywords="门前三包 三包责任 店门口卫生 商铺责任书 沿街店铺",
        rule=all_of(alive()),
    ),
    SeedItem(
        "CG014", "餐厨垃圾收运登记", "城管", "street", "promised", 5, 3,
        "产生餐厨垃圾的餐饮店、食堂等单位登记后，由有资质的企业定时收运。",
        ("business_license",), CITY_LAW + "；《浙江省生活垃圾管理条例》",
        keywords="餐厨垃圾 泔水 厨余垃圾 饭店垃圾 地沟油 剩饭剩菜",
    ),
    SeedItem(
        "HJ001", "夜间施工作业证明", "生态环境", "district", "promised", 3, 1,
        "因生产工艺或特殊需要必须在夜间（22时至次日6时）连续施工的建设单位，申请夜间作业证明并公告周边居民。",
        ("business_license", "design_plan"), "《中华人民共和国噪声污染防治法》",
        keywords="夜间施工 晚上施工 半夜施工 连续作业 夜间作业",
        steps=DISTRICT_STEPS,
        fields=(text("site", "施工地点", max_length=200), date("from_date", "开始日期"), date("to_date", "结束日期")),
    ),
)

COMMUNITY_MORE: tuple[SeedItem, ...] = (
    SeedItem(
        "SQ013", "党员组织关系转接", "社区", "community", "instant", 1, 0,
        "党员因工作调动、退休、居住地变化等，将组织关系转入或转出社区党组织。",
        ("id_card", "party_letter"), "《中国共产党党员教育管理工作条例》",
        keywords="党组织关系 党员转关系 组织关系转入 党关系转出 退休党员 党员报到",
        fields=(select("direction", "转接方向", [("in", "转入本社区"), ("out", "转出")]),),
        rule=all_of(alive()),
    ),
    SeedItem(
        "SQ014", "流动党员登记", "社区", "community", "instant", 1, 0,
        "外出务工经商或外来居住半年以上的党员，向居住地社区党组织登记，参加组织生活。",
        ("id_card",), "《中国共产党党员教育管理工作条例》",
        keywords="流动党员 外来党员 在外地的党员 党员活动证 党员登记",
        rule=all_of(alive()),
    ),
    SeedItem(
        "SQ015", "婚丧喜庆事宜报备", "社区", "community", "instant", 1, 0,
        "居民操办婚事、丧事、寿宴等，向社区报备时间、地点和规模，社区提供移风易俗指导和场地协调。",
        ("id_card",), "《关于进一步推动移风易俗建设文明乡风的指导意见》",
        keywords="办酒 喜宴 寿宴 红白喜事 办丧事 搭灵堂 摆酒席 满月酒",
        fields=(select("kind", "事宜", [("wedding", "婚事"), ("funeral", "丧事"), ("birthday", "寿宴"),
                                        ("other", "其他")]), date("on", "日期"), number("tables", "桌数", max=200)),
        rule=all_of(alive()),
    ),
)

JUSTICE_MORE: tuple[SeedItem, ...] = (
    SeedItem(
        "SF001", "公证服务预约", "司法", "district", "promised", 15, 5,
        "办理委托、声明、遗嘱、继承、亲属关系、学历等公证事项的，预约公证机构受理。",
        ("id_card", "?hukou_book", "?property_cert"), "《中华人民共和国公证法》",
        keywords="公证 公证处 遗嘱公证 继承公证 委托公证 亲属关系公证 房产继承 过户公证",
        steps=DISTRICT_STEPS,
        fields=(select("matter", "公证事项", [("will", "遗嘱"), ("inherit", "继承"), ("entrust", "委托"),
                                             ("kinship", "亲属关系"), ("other", "其他")]),),
    ),
    SeedItem(
        "SF002", "刑满释放人员安置帮教", "司法", "street", "promised", 15, 10,
        "刑满释放回到居住地的人员，向街道司法所报到，获得就业、救助和心理等帮扶。",
        ("id_card", "release_cert"), "《关于加强刑满释放人员救助管理工作的意见》",
        keywords="刑满释放 出狱 释放人员 帮教 安置帮教 服刑回来",
    ),
    SeedItem(
        "SF003", "公共法律服务咨询", "司法", "community", "instant", 1, 0,
        "居民遇到婚姻家庭、继承、合同、劳动、邻里等法律问题，到社区公共法律服务点或预约律师免费咨询。",
        ("?id_card",), "《中华人民共和国法律援助法》；《关于加快推进公共法律服务体系建设的意见》",
        keywords="法律咨询 问律师 法律问题 免费咨询 社区律师 法律顾问",
        fields=(textarea("question", "咨询问题"),),
        rule=all_of(alive()),
    ),
)

MARKET_MORE: tuple[SeedItem, ...] = (
    SeedItem(
        "SC001", "个体工商户变更登记", "市场监管", "district", "promised", 3, 1,
        "个体工商户变更经营者、名称、经营范围、经营场所等登记事项的。",
        ("id_card", "business_license", "?residence_proof"), MARKET_LAW,
        keywords="执照变更 营业执照改地址 换经营范围 个体户变更 店名变更 经营场所变更",
        steps=DISTRICT_STEPS,
    ),
    SeedItem(
        "SC002", "个体工商户注销登记", "市场监管", "district", "promised", 3, 1,
        "个体工商户不再经营的，办理清税后申请注销登记。",
        ("id_card", "business_license", "tax_clearance"), MARKET_LAW,
        keywords="注销执照 营业执照注销 关店 不做了 店不开了 个体户注销 停业",
        steps=DISTRICT_STEPS,
    ),
    SeedItem(
        "SC003", "食品经营许可", "市场监管", "district", "promised", 10, 5,
        "开办超市、便利店、食杂店、网店等从事食品销售的经营者，申请食品经营许可或备案。",
        ("id_card", "business_license", "catering_plan"), "《中华人民共和国食品安全法》；《食品经营许可和备案管理办法》",
        keywords="食品经营许可证 卖食品 便利店 小超市 食杂店 零食店 卖熟食",
        steps=DISTRICT_STEPS,
    ),
    SeedItem(
        "SC004", "消费投诉举报", "市场监管", "district", "promised", 7, 7,
        "消费者在购买商品、接受服务中合法权益受到侵害，与经营者协商不成的，向市场监管部门投诉（12315）。",
        ("id_card", "evidence"), "《中华人民共和国消费者权益保护法》；《市场监督管理投诉举报处理暂行办法》",
        keywords="消费投诉 买到假货 商家不退钱 预付卡跑路 办卡跑路 退款 质量问题 12315",
        steps=DISTRICT_STEPS,
        fields=(text("merchant", "被投诉经营者"), textarea("details", "投诉事项")),
    ),
)

EDUCATION_MORE: tuple[SeedItem, ...] = (
    SeedItem(
        "JY001", "学前教育资助申请", "教育", "street", "promised", 15, 10,
        "在园的家庭经济困难幼儿、孤儿和残疾儿童，减免保育教育费或给予生活补助。",
        ("id_card", "hukou_book", "school_proof", "econ_check_auth"), "《关于建立学前教育资助制度的意见》",
        keywords="幼儿园补助 幼儿园学费 学前资助 保育费 上幼儿园困难 托费减免",
    ),
    SeedItem(
        "JY002", "义务教育阶段转学申请", "教育", "district", "promised", 10, 5,
        "因搬家、父母工作调动等原因，义务教育阶段学生转入或转出本区学校的。",
        ("id_card", "hukou_book", "transfer_notice", "?residence_permit"), "《中华人民共和国义务教育法》",
        keywords="转学 转校 插班 换学校 孩子转学 学籍转移",
        steps=DISTRICT_STEPS,
        fields=(text("child_name", "学生姓名", max_length=50), text("from_school", "原就读学校")),
    ),
)

MORE_CITY: tuple[SeedItem, ...] = (
    *POLICE_MORE, *HOUSING_MORE, *VETERANS_MORE, *CITY_MORE, *COMMUNITY_MORE, *JUSTICE_MORE,
    *MARKET_MORE, *EDUCATION_MORE,
)
