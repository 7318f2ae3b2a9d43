from django.db import models
from django.utils.translation import gettext_lazy as _


class Sex(models.TextChoices):
    MALE = "M", _("男")
    FEMALE = "F", _("女")


class HukouStatus(models.TextChoices):
    """Household-registration status: 户籍 / 流动 / 境外."""

    LOCAL = "local", _("户籍人口")
    MIGRANT = "migrant", _("流动人口")
    FOREIGN = "foreign", _("境外人员")


class Relation(models.TextChoices):
    """Relation to the head of household (与户主关系)."""

    HEAD = "head", _("户主")
    SPOUSE = "spouse", _("配偶")
    CHILD = "child", _("子女")
    PARENT = "parent", _("父母")
    GRANDCHILD = "grandchild", _("孙子女")
    SIBLING = "sibling", _("兄弟姐妹")
    CHILD_IN_LAW = "child_in_law", _("儿媳/女婿")
    TENANT = "tenant", _("租户")
    OTHER = "other", _("其他")


class RoomUse(models.TextChoices):
    SELF_OCCUPIED = "self", _("自住")
    RENTED = "rented", _("出租")
    VACANT = "vacant", _("空置")
    COMMERCIAL = "commercial", _("商用")


class OrganisationKind(models.TextChoices):
    ENTERPRISE = "enterprise", _("企业")
    INDIVIDUAL_BUSINESS = "individual", _("个体工商户")
    SOCIAL_ORGANISATION = "social", _("社会组织")
    PARTY_BRANCH = "party_branch", _("党组织")
    PUBLIC_INSTITUTION = "public", _("机关事业单位")


class FacilityKind(models.TextChoices):
    CAMERA = "camera", _("视频监控")
    HYDRANT = "hydrant", _("消防栓")
    AED = "aed", _("AED除颤仪")
    SERVICE_POINT = "service_point", _("便民服务点")
    SHELTER = "shelter", _("应急避难场所")
    EV_CHARGER = "ev_charger", _("电动车充电桩")
    SMOKE_DETECTOR = "smoke_detector", _("烟感探测器")
    DOOR_SENSOR = "door_sensor", _("门磁")
    ELDERLY_CANTEEN = "elderly_canteen", _("老年食堂")


class TagKind(models.TextChoices):
    """Key populations (重点人群)."""

    LIVING_ALONE_ELDER = "living_alone_elder", _("独居老人")
    EMPTY_NEST_ELDER = "empty_nest_elder", _("空巢老人")
    OLDEST_OLD = "oldest_old", _("高龄老人")
    DISABLED = "disabled", _("残疾人")
    SUBSISTENCE = "subsistence", _("低保")
    NEAR_SUBSISTENCE = "near_subsistence", _("低边")
    ENTITLED_GROUP = "entitled_group", _("优抚对象")
    RENTED_ROOM = "rented_room", _("出租房")
    LEFT_BEHIND_CHILD = "left_behind_child", _("留守儿童")
    SEVERE_MENTAL = "severe_mental", _("严重精神障碍患者")
    COMMUNITY_CORRECTION = "community_correction", _("社区矫正对象")
    VETERAN = "veteran", _("退役军人")
    BEDRIDDEN = "bedridden", _("卧床")
    PREGNANT = "pregnant", _("孕产妇")


# Health, income and justice categories are sensitive (PIPL art. 28): access is logged.
SENSITIVE_TAGS: frozenset[str] = frozenset({
    TagKind.DISABLED, TagKind.SUBSISTENCE, TagKind.NEAR_SUBSISTENCE, TagKind.SEVERE_MENTAL,
    TagKind.COMMUNITY_CORRECTION, TagKind.BEDRIDDEN, TagKind.PREGNANT,
})

# Tags that mark a resident vulnerable in an emergency (building chart, evacuation lists).
VULNERABLE_TAGS: frozenset[str] = frozenset({
    TagKind.LIVING_ALONE_ELDER, TagKind.EMPTY_NEST_ELDER, TagKind.OLDEST_OLD, TagKind.DISABLED,
    TagKind.SEVERE_MENTAL, TagKind.LEFT_BEHIND_CHILD, TagKind.BEDRIDDEN, TagKind.PREGNANT,
})

ETHNICITIES: tuple[str, ...] = (
    "汉族", "回族", "满族", "蒙古族", "壮族", "土家族", "苗族", "畲族", "朝鲜族", "维吾尔族",
    "藏族", "彝族", "侗族", "瑶族", "白族", "布依族", "哈尼族", "黎族", "傣族", "其他",
)
