"""The event types a notification can be about: their variables and default wording.

Plain data, so notify (below cases, catalogue and fusion) knows what they may send
without importing them. A district administrator may override the wording per
language (:class:`linli.notify.models.NotificationTemplate`); the variables are fixed here.
Messages name numbers and steps, never personal data (SMS and push leave the intranet).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from linli.notify.choices import Level


@dataclass(frozen=True)
class EventType:
    code: str
    variables: tuple[str, ...]
    # (zh title, zh body), (en title, en body): str.format fields from ``variables``.
    zh: tuple[str, str]
    en: tuple[str, str]
    level: str = Level.NORMAL


EVENT_TYPES: Final[dict[str, EventType]] = {e.code: e for e in (
    EventType("case.dispatched", ("number",),
              ("事件派遣", "事件{number}已派遣给您,请及时处置"),
              ("Case dispatched", "Case {number} has been dispatched to you; please handle it")),
    EventType("case.to_dispatch", ("number",),
              ("待派遣事件", "有新事件{number}待立案/派遣"),
              ("Case to dispatch", "New case {number} is waiting to be registered or dispatched")),
    EventType("case.unruled", ("number",),
              ("事件无派遣规则", "事件{number}没有匹配的派遣规则,请街道派遣"),
              ("No dispatch rule", "Case {number} matched no dispatch rule; the street must dispatch it")),
    EventType("case.returned", ("number",),
              ("事件退回", "事件{number}被退回,请重新派遣"),
              ("Case returned", "Case {number} was returned; please dispatch it again")),
    EventType("case.pending_approval", ("number",),
              ("派遣待审批", "事件{number}派遣待审批"),
              ("Dispatch to approve", "The dispatch of case {number} awaits approval")),
    EventType("case.extension", ("number",),
              ("延期申请", "事件{number}申请延期,请审批"),
              ("Extension requested", "Case {number} asks for an extension; please decide")),
    EventType("case.handled", ("number",),
              ("事件已处置", "事件{number}已处置反馈,请核查"),
              ("Case handled", "Case {number} was handled; please verify")),
    EventType("case.verified", ("number",),
              ("事件已核查", "事件{number}已核查,请结案"),
              ("Case verified", "Case {number} was verified; please close it")),
    EventType("case.closed", ("number",),
              ("事件已办结", "您反映的事件{number}已办结,请评价"),
              ("Case closed", "The case {number} you reported is closed; please rate it")),
    EventType("case.overdue", ("number",),
              ("事件超期", "事件{number}已超期(黄牌督办)"),
              ("Case overdue", "Case {number} is overdue (yellow card)")),
    EventType("case.overdue_severe", ("number",),
              ("事件严重超期", "事件{number}严重超期(红牌督办)"),
              ("Case seriously overdue", "Case {number} is seriously overdue (red card)"), Level.LEVEL1),
    EventType("case.supervised", ("number",),
              ("事件提级督办", "事件{number}已提级督办"),
              ("Case escalated", "Case {number} is escalated for supervision"), Level.LEVEL1),
    EventType("application.pre_review", ("number", "item"),
              ("待预审申请", "申请{number}({item})待预审"),
              ("Application to pre-review", "Application {number} ({item}) awaits pre-review")),
    EventType("application.forwarded", ("number", "item"),
              ("待审核申请", "申请{number}({item})已转办,请审核决定"),
              ("Application to decide", "Application {number} ({item}) was forwarded to you for a decision")),
    EventType("application.status", ("number", "item", "status", "extra"),
              ("申请进度", "【邻里】您的申请{number}({item})状态：{status}。{extra}"),
              ("Application status", "[Linli] Your application {number} ({item}): {status}. {extra}")),
    EventType("fusion.verification_assigned", ("count", "source"),
              ("核实任务", "您有{count}条数据冲突待核实(来源:{source}),请尽快走访落实"),
              ("Verification tasks", "{count} data conflicts from {source} await your verification")),
    EventType("accounts.lockout", ("username", "until"),
              ("账号登录受限", "账号{username}因多次登录失败被暂时限制至{until};如非本人操作请联系管理员"),
              ("Sign-in locked", ("Account {username} is locked until {until} after failed sign-ins; "
                                 "tell an administrator if this was not you")), Level.LEVEL1),
    # For the administrators (the home page's security notices, now in the inbox only).
    EventType("accounts.account_throttled", ("username", "failures", "until"),
              ("账号登录尝试过多", "账号{username}从未登录过的设备累计输错密码{failures}次,新设备的登录暂停至{until}"),
              ("Sign-in attempts on an account", ("Account {username}: {failures} failed sign-ins from unknown "
                                                  "devices; new devices are held until {until}")), Level.LEVEL1),
    EventType("accounts.source_throttled", ("source", "failures", "until"),
              ("来源地址登录尝试过多", "地址{source}一小时内登录失败{failures}次,该地址的登录暂停至{until}"),
              ("Sign-in attempts from an address", ("{failures} failed sign-ins from {source} within an hour; "
                                                    "the address is held until {until}")), Level.LEVEL1),
    EventType("care.work_orders", ("count", "due"),
              ("民生服务工单", "您有{count}张新的民生服务工单,最早须于{due}前办理"),
              ("Care work orders", "{count} new care work orders for you, the first due by {due}")),
    # 三必到五必访: the message names the event and the deadline, never the person (SMS leaves
    # the intranet); the worker opens "today" for whom.
    EventType("care.must_visit", ("reason", "due"),
              ("必访提醒", "您的网格有一户须上门走访({reason}),请于{due}前完成"),
              ("Must-visit", "A household in your grid must be visited ({reason}) by {due}")),
    EventType("care.visits_overdue", ("count",),
              ("走访逾期", "您有{count}户走访已逾期,请尽快上门"),
              ("Visits overdue", "{count} of your care visits are overdue: please visit soon")),
    EventType("devices.alarm", ("kind", "grid"),
              ("设备报警", "{grid}发生{kind}报警,请立即核查"),
              ("Device alarm", "{kind} alarm in {grid}: please check at once")),
    EventType("broadcast.emergency", ("area", "message"),
              ("紧急通知", "【{area}】{message}"),
              ("Emergency", "[{area}] {message}"), Level.EMERGENCY),
    # The one-time code of the residents' portal: the code is the message (it leaves by SMS).
    EventType("portal.code", ("code",),
              ("验证码", "【邻里】您的验证码是{code},10分钟内有效,请勿告诉他人"),
              ("Verification code", "[Linli] Your code is {code}, valid for 10 minutes; do not share it")),
    EventType("portal.notice", ("title",),
              ("社区通知", "社区发布了新通知:{title}"),
              ("Community notice", "A new notice from your community: {title}")),
    EventType("portal.registration", ("status",),
              ("注册审核", "您的居民注册审核结果:{status}"),
              ("Registration", "Your residents' registration: {status}")),
    EventType("cockpit.incident_task", ("title", "households"),
              ("应急核查任务", "【{title}】请立即核查您负责的{households}户住户,逐户标记结果"),
              ("Emergency check task", ("[{title}] Check the {households} households you are responsible for "
                                        "now and mark each one")), Level.EMERGENCY),
)}
