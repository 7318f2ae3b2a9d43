"""Demo data of the portal's public affairs: for each community of the demo street, its 两委
(a party committee and a residents' committee elected in 2021 for five years, as the
2021 换届 of Zhejiang's communities) and its residents' convention (居民公约) in two versions.
Deterministic (names from the demo's name maker with a fixed seed); written only where a
community has none, so ``linli demo`` on an existing data folder adds them once."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from typing import Final

from linli.core.actors import Actor
from linli.demo.names import NameMaker
from linli.geo.choices import AreaLevel
from linli.geo.models import Area
from linli.portal.services import MemberInput, affairs_seed_community

TERM_START: Final = date(2021, 5, 1)
TERM_END: Final = date(2026, 5, 1)

# (body, role, duties); the secretary also chairs the residents' committee (一肩挑), as most
# Hangzhou communities have done since 2021.
COMMITTEE: Final[tuple[tuple[str, str, str], ...]] = (
    ("party", "secretary", "主持社区党委全面工作"),
    ("party", "deputy_secretary", "党建、组织、宣传工作"),
    ("party", "member", "纪检、统战工作"),
    ("party", "member", "网格党建、党员教育管理"),
    ("residents", "director", "主持居委会全面工作"),
    ("residents", "deputy_director", "民政、老龄、残联工作"),
    ("residents", "member", "综治、平安、物业管理"),
    ("residents", "member", "卫生健康、计生、环境卫生"),
    ("residents", "member", "文体、志愿服务、妇女儿童"),
)

CONVENTION_V1: Final = """一、爱党爱国,遵纪守法,自觉维护社区和谐稳定。
二、邻里互助,尊老爱幼,关心独居老人和困难家庭。
三、爱护环境,垃圾不落地,楼道不堆物。
四、文明养犬,出门牵绳,及时清理犬粪。
五、移风易俗,红白事从简,不燃放烟花爆竹。
六、积极参加社区活动和志愿服务,共建美好家园。"""

CONVENTION_V2: Final = """一、爱党爱国,遵纪守法,自觉维护社区和谐稳定。
二、邻里互助,尊老爱幼,关心独居老人和困难家庭,发现异常及时告知网格员。
三、垃圾分类,定时定点投放;楼道不堆物,消防通道不占用。
四、电动自行车不进楼入户,集中充电,安全用电用气。
五、文明养犬,出门牵绳,及时清理犬粪;不高空抛物。
六、移风易俗,红白事从简,不燃放烟花爆竹。
七、积极参加社区活动、议事协商和志愿服务,共建美好家园。"""


@dataclass(frozen=True)
class AffairsSeedReport:
    communities: int
    members: int
    conventions: int


def _office_phone(community: Area, seq: int) -> str:
    # 0571-8xxx xxxx from the community's code: a landline of the office, never a mobile.
    return f"0571-8{int(community.code[-6:]) % 1000:03d}{seq:04d}"


def affairs_demo_seed_if_missing(*, actor: Actor, seed: int = 2026) -> AffairsSeedReport:
    """Seed the 两委 and the convention of every community that has none."""
    names = NameMaker()
    communities = members = conventions = 0
    for community in Area.objects.filter(level=AreaLevel.COMMUNITY).order_by("code"):
        rng = random.Random(f"linli-demo:{seed}:affairs:{community.code}")  # noqa: S311 -- demo data
        people = [
            names.full(
                rng, male=rng.random() < 0.45, birth_year=rng.randint(1968, 1990), local=True
            )
            for _ in COMMITTEE
        ]
        # The secretary is also the director (一肩挑).
        people[4] = people[0]
        rows = [
            MemberInput(
                body=body,
                role=role,
                name=name,
                duties=duties,
                duty_phone=_office_phone(community, 1 if body == "party" else 2),
                term_start=TERM_START,
                term_end=TERM_END,
                position=index,
            )
            for index, ((body, role, duties), name) in enumerate(
                zip(COMMITTEE, people, strict=True)
            )
        ]
        written = affairs_seed_community(
            actor=actor,
            community=community,
            members=rows,
            conventions=[
                (
                    f"{community.name}居民公约",
                    CONVENTION_V1,
                    date(2019, 7, 1),
                    "2019年6月社区居民代表会议表决通过",
                ),
                (
                    f"{community.name}居民公约(2024年修订)",
                    CONVENTION_V2,
                    date(2024, 3, 1),
                    "2024年2月社区居民代表会议表决通过,报街道备案",
                ),
            ],
        )
        if written:
            communities += 1
            members += len(rows)
            conventions += 2
    return AffairsSeedReport(communities, members, conventions)
