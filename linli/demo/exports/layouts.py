"""How each department writes its file: headers in order and where each value comes from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from linli.demo import export_errors as errs


@dataclass(frozen=True)
class _Layout:
    """How one department writes its file: headers (in order) and where each value comes from.

    ``columns`` maps header → internal value: ``@name``, ``@id``, ``@birth``, ``@sex``,
    ``@phone``, ``@address``, ``@seq``, or the name of an extra column of the true rows.
    """

    code: str
    department: str
    title: str
    format: str
    encoding: str
    columns: tuple[tuple[str, str], ...]
    date_headers: tuple[str, ...] = ()

    @property
    def file_name(self) -> str:
        return f"{self.code}.{self.format}"


LAYOUTS: Final[dict[str, _Layout]] = {
    errs.MINZHENG: _Layout(
        errs.MINZHENG, "民政", "困难群众及老年人补贴名册", "csv", "gbk",
        (("序号", "@seq"), ("姓名", "@name"), ("性别", "@sex"), ("身份证号", "@id"), ("出生日期", "@birth"),
         ("联系电话", "@phone"), ("现住址", "@address"), ("所属社区", "community"), ("对象类别", "category"),
         ("残疾等级", "残疾等级"), ("享受状态", "享受状态"), ("死亡日期", "死亡日期"))),
    errs.CANLIAN: _Layout(
        errs.CANLIAN, "残联", "持证残疾人名册", "xlsx", "xlsx",
        (("序号", "@seq"), ("姓名", "@name"), ("性别", "@sex"), ("公民身份号码", "@id"), ("残疾证号", "残疾证号"),
         ("残疾类别", "残疾类别"), ("残疾等级", "残疾等级"), ("出生年月", "@birth"), ("手机号码", "@phone"),
         ("居住地址", "@address"), ("所属社区", "community"), ("发证日期", "发证日期"), ("享受补贴", "享受补贴")),
        date_headers=("出生年月",)),
    errs.ZONGZHI: _Layout(
        errs.ZONGZHI, "综治", "实有人口及出租房屋信息", "csv", "gb18030",
        (("序号", "@seq"), ("所属网格", "所属网格"), ("姓名", "@name"), ("性别", "@sex"), ("证件类型", "证件类型"),
         ("证件号码", "@id"), ("出生日期", "@birth"), ("民族", "民族"), ("联系电话", "@phone"),
         ("居住地址", "@address"), ("人员类别", "人员类别"), ("房屋性质", "房屋性质"), ("房东姓名", "房东姓名"),
         ("房东联系电话", "房东联系电话"), ("重点人员类别", "重点人员类别"), ("登记日期", "登记日期"))),
    errs.CHENGGUAN: _Layout(
        errs.CHENGGUAN, "城管", "沿街商户及流动摊贩登记表", "csv", "utf-8-sig",
        (("序号", "@seq"), ("经营者姓名", "@name"), ("身份证号码", "@id"), ("手机号码", "@phone"),
         ("店铺名称", "店铺名称"), ("经营类型", "经营类型"), ("经营地址", "经营地址"), ("居住地址", "@address"),
         ("登记日期", "登记日期"))),
    errs.JISHENG: _Layout(
        errs.JISHENG, "计生", "全员人口及计生服务对象", "xlsx", "xlsx",
        (("序号", "@seq"), ("姓名", "@name"), ("性别", "@sex"), ("出生日期", "@birth"), ("身份证号码", "@id"),
         ("民族", "民族"), ("联系电话", "@phone"), ("现居住地址", "@address"), ("户籍地址", "户籍地址"),
         ("人员类别", "人员类别"), ("人户状态", "人户状态"), ("独生子女证号", "独生子女证号"), ("子女姓名", "子女姓名")),
        date_headers=("出生日期",)),
    errs.LIUDONG: _Layout(
        errs.LIUDONG, "流动人口", "流动人口居住登记", "csv", "utf-8",
        (("序号", "@seq"), ("姓名", "@name"), ("性别", "@sex"), ("民族", "民族"), ("公民身份号码", "@id"),
         ("出生年月", "@birth"), ("户籍地址", "户籍地址"), ("暂住地址", "@address"), ("居住证号", "居住证号"),
         ("居住事由", "居住事由"), ("登记日期", "登记日期"), ("手机号码", "@phone"), ("状态", "状态"))),
}
