"""Materials (申请材料) shared by the seed items: code → (name, example, accepted kinds)."""

from __future__ import annotations

from typing import NamedTuple


class Material(NamedTuple):
    """One kind of document an applicant brings or uploads."""

    name: str
    example: str
    accept: tuple[str, ...] = ("image", "pdf")


MATERIALS: dict[str, Material] = {
    "id_card": Material("居民身份证", "申请人有效居民身份证原件（正反面）"),
    "hukou_book": Material("居民户口簿", "户口簿首页（户主页）及本人页"),
    "photo": Material("近期免冠照片", "近期一寸白底免冠彩色照片2张", ("image",)),
    "photo_2inch": Material("近期二寸照片", "近期二寸白底免冠彩色照片3张", ("image",)),
    "agent_id": Material("代办人身份证及委托书", "代办人身份证原件、申请人签字的委托书"),
    "application_form": Material("申请表", "本事项申请表（申请人签字或按手印）"),
    "econ_check_auth": Material("家庭经济状况核对授权书", "共同生活家庭成员签字的《家庭经济状况核对授权书》"),
    "family_property": Material("家庭收入和财产申报表", "如实申报的家庭收入、存款、车辆、房产情况"),
    "family_ids": Material("共同生活家庭成员身份证明", "家庭成员身份证、户口簿复印件"),
    "diagnosis": Material("医院诊断证明", "二级及以上医院出具的诊断证明书、病历"),
    "disability_assessment": Material("残疾评定表", "指定评残医院出具的《中华人民共和国残疾人残疾评定表》"),
    "disability_cert": Material("残疾人证", "第二代中华人民共和国残疾人证"),
    "medical_bills": Material("医疗费用票据", "住院或门诊发票、费用明细清单、医保结算单"),
    "discharge_summary": Material("出院记录", "医院出具的出院小结或出院记录"),
    "accident_proof": Material("事故或致困证明", "交通事故责任认定书、火灾证明、工伤认定书等"),
    "birth_cert": Material("出生医学证明", "医院签发的《出生医学证明》"),
    "marriage_cert": Material("结婚证", "夫妻双方结婚证；离婚的提供离婚证或法院判决书"),
    "only_child_cert": Material("独生子女父母光荣证", "《独生子女父母光荣证》或独生子女证明"),
    "death_cert": Material("死亡证明", "医院出具的《居民死亡医学证明（推断）书》或公安出具的死亡证明"),
    "cremation_cert": Material("火化证明", "殡仪馆出具的遗体火化证明"),
    "residence_proof": Material("合法稳定住所证明", "不动产权证书，或已登记备案的房屋租赁合同，或单位、学校住宿证明"),
    "lease": Material("房屋租赁合同", "出租人与承租人签订的书面租赁合同"),
    "property_cert": Material("不动产权证书", "房屋不动产权证书或房屋所有权证"),
    "employment_proof": Material("合法稳定就业证明", "劳动合同、营业执照或单位出具的工作证明"),
    "school_proof": Material("就读证明", "学校出具的在读证明或学生证"),
    "residence_permit": Material("居住证", "有效期内的浙江省居住证"),
    "termination_proof": Material("解除或终止劳动合同证明", "原单位出具的解除（终止）劳动关系证明"),
    "ss_card": Material("社会保障卡", "本人社会保障卡（含金融功能）"),
    "bank_account": Material("银行账户信息", "本人名下银行卡或存折复印件（用于发放资金）"),
    "business_license": Material("营业执照", "个体工商户或企业营业执照副本"),
    "veteran_cert": Material("退役证件", "退出现役证、退伍证或转业证"),
    "entitlement_cert": Material("优抚证件", "残疾军人证、烈士证明书、因公牺牲或病故军人证明书等"),
    "enlistment_notice": Material("入伍通知书", "县级人民政府征兵办公室开具的入伍通知书"),
    "care_assessment": Material("老年人能力评估报告", "具备资质的评估机构出具的老年人能力评估报告"),
    "pregnancy_proof": Material("孕情证明", "医疗机构出具的孕情检查证明（如有）"),
    "hukou_migration": Material("准予迁入证明", "迁入地公安机关签发的准予迁入证明或迁移证"),
    "loss_statement": Material("遗失声明", "本人签字的证件遗失声明"),
    "dog_immunity": Material("犬只免疫证明", "动物诊疗机构出具的狂犬病免疫证明"),
    "dog_photo": Material("犬只照片", "犬只正面及侧面彩色照片", ("image",)),
    "owner_consent": Material("业主同意书", "本单元（幢）业主签字的书面同意意见"),
    "design_plan": Material("设计或施工方案", "具有资质单位出具的设计图纸和施工方案"),
    "evidence": Material("证据材料", "劳动合同、工资条、考勤记录、聊天记录等相关证据"),
    "rehab_assessment": Material("康复评估报告", "定点康复机构出具的康复评估或需求评估报告"),
    "driving_license": Material("机动车驾驶证及行驶证", "本人机动车驾驶证、残疾人专用车辆行驶证"),
    "fuel_invoice": Material("燃油发票", "加油发票或加油卡消费记录"),
    "admission_notice": Material("录取通知书或学籍证明", "当年录取通知书、学籍证明及学费票据"),
    "venue_plan": Material("设摊或占用方案", "占用位置示意图、面积、时间段说明"),
    "pension_cert": Material("养老金领取证明", "社保经办机构出具的待遇领取证明"),
    "insurance_record": Material("参保缴费证明", "社会保险参保缴费明细"),
    "training_cert": Material("培训合格证书", "职业技能等级证书或培训结业证书"),
    "loan_contract": Material("创业计划书", "创业项目计划书及经营场所证明"),
    "unit_proof": Material("单位证明", "所在单位或村（社区）出具的情况证明"),
    # Issue 16: materials of the items added to grow the catalogue.
    "personnel_file": Material("人事档案", "本人人事档案（用于核定出生时间、参加工作时间）"),
    "site_photos": Material("现场照片", "能反映现场情况的照片", ("image",)),
    "release_cert": Material("刑满释放证明书", "监狱或看守所出具的释放证明书"),
    "tree_info": Material("树木情况说明", "树木位置、品种、数量、胸径说明及现场照片"),
    "tax_clearance": Material("清税证明", "税务机关出具的清税证明"),
    "ebike_invoice": Material("电动自行车购车凭证", "购车发票和产品合格证"),
    "dog_cert": Material("犬只登记证", "原犬只登记证"),
    "diploma": Material("学历证明", "毕业证书或在读证明"),
    "party_letter": Material("党组织关系介绍信", "原党组织开具的组织关系介绍信"),
    "transfer_notice": Material("转学申请表", "转入学校同意接收的转学申请表"),
    "insurance_transfer": Material("参保缴费凭证", "转出地社保经办机构出具的参保缴费凭证"),
    "work_injury": Material("工伤事故材料", "劳动关系证明、医疗诊断证明及事故经过说明"),
    "catering_plan": Material("经营场所平面图", "经营场所平面布局和设备设施示意图"),
}
