"""How a demo item is written down: its guide elements, materials and application form.

The item modules (items.py and items_*.py) list items with these helpers; load.py turns them into
basic items, published guides and every unit's implementation list.
"""

from typing import NamedTuple

from shared_apps.catalog.models import GuideMaterial, OnlineDepth
from shared_apps.catalog.themes import ORGANISATION


class Material(NamedTuple):
    name: str
    originals: int = 1
    copies: int = 0
    source: str = GuideMaterial.Source.APPLICANT
    necessity: str = GuideMaterial.Necessity.REQUIRED
    # A blank form and a sample the platform serves (forms.py SAMPLE_FILES), if the material is one.
    template: str = ""


def own(name, originals=1, copies=0, *, later=False, optional=False, template=""):
    """A material the applicant writes or brings (contracts, statements, photos...)."""
    return Material(
        name, originals, copies, GuideMaterial.Source.APPLICANT, _need(later, optional), template
    )


def gov(name, originals=1, copies=1, *, later=False, optional=False):
    """A material issued by a government body (licences, certificates, ID documents)."""
    return Material(
        name, originals, copies, GuideMaterial.Source.GOVERNMENT, _need(later, optional)
    )


def other(name, originals=1, copies=0, *, later=False, optional=False):
    """A material issued by someone else: a hospital, a bank, a school, an intermediary."""
    return Material(name, originals, copies, GuideMaterial.Source.OTHER, _need(later, optional))


def _need(later, optional):
    if later:
        return GuideMaterial.Necessity.LATER  # 容缺后补
    return GuideMaterial.Necessity.OPTIONAL if optional else GuideMaterial.Necessity.REQUIRED


def later(material: Material) -> Material:
    return material._replace(necessity=GuideMaterial.Necessity.LATER)


def optional(material: Material) -> Material:
    return material._replace(necessity=GuideMaterial.Necessity.OPTIONAL)


APPLICATION = "申请表"
APP = own(APPLICATION, template="application")
ID_CARD = gov("居民身份证")
HOUSEHOLD = gov("居民户口簿")
PHOTO = own("近期免冠证件照片", 2)
LICENSE = gov("营业执照", 0, 1)
LEGAL_REP_ID = gov("法定代表人身份证件", 0, 1)
ATTORNEY = own("授权委托书", optional=True, template="attorney")
COMMITMENT = own("告知承诺书", template="commitment")
MARRIAGE_CERT = gov("结婚证")
DEATH_CERT = other("居民死亡医学证明（推断）书")
BANK_ACCOUNT = other("本人银行账户（社会保障卡）", 0, 1)
SSC = gov("社会保障卡", 1, 0)
DRIVING_LICENCE = gov("机动车驾驶证", 1, 0)
VEHICLE_LICENCE = gov("机动车行驶证", 1, 0)
PROPERTY_CERT = gov("不动产权证书")
DISABILITY_CERT = gov("中华人民共和国残疾人证")

# Fees (收费) as real guides list them; every other item is free of charge.
REAL_ESTATE_FEE = {
    "item": "不动产登记费",
    "rate": "住宅类 80 元/件，非住宅类 550 元/件",
    "basis": "《国家发展改革委 财政部关于不动产登记收费标准等有关问题的通知》（发改价格规〔2016〕2559号）",
}
ID_CARD_FEE = {
    "item": "居民身份证工本费",
    "rate": "20 元/证",
    "basis": "《国家发展改革委 财政部关于居民身份证收费标准及有关问题的通知》",
}
PASSPORT_FEE = {
    "item": "普通护照工本费",
    "rate": "120 元/本",
    "basis": "《国家发展改革委 财政部关于降低部分行政事业性收费标准的通知》（发改价格〔2019〕914号）",
}
EXIT_PERMIT_FEE = {
    "item": "往来港澳通行证工本费",
    "rate": "60 元/证，签注 15 元/次",
    "basis": "《国家发展改革委 财政部关于降低部分行政事业性收费标准的通知》（发改价格〔2019〕914号）",
}

PROCESS = {
    "01": "申请 → 受理 → 审查（需要时现场核查） → 决定 → 制证送达",
    "04": "申报 → 受理 → 核定 → 缴纳 → 开具凭证",
    "05": "申请 → 受理 → 审核（入户调查、公示） → 审批 → 发放",
    "07": "申请 → 受理 → 审核 → 登记（确认） → 送达",
    "09": "申请 → 受理 → 调解 → 开庭审理 → 裁决 → 送达",
    "10": "申请 → 受理 → 审查 → 决定 → 送达",
    "20": "申请 → 受理 → 办理 → 办结（当场或邮寄送达）",
}

# Where an item type usually gets online, unless the item says otherwise: (online depth, visits).
DEFAULT_ONLINE = {
    "01": (OnlineDepth.ACCEPTANCE, 1),
    "04": (OnlineDepth.RESULT, 0),
    "05": (OnlineDepth.ACCEPTANCE, 1),
    "07": (OnlineDepth.ACCEPTANCE, 1),
    "09": (OnlineDepth.SUBMISSION, 1),
    "10": (OnlineDepth.ACCEPTANCE, 1),
    "20": (OnlineDepth.HANDLING, 1),
}


class DemoItem(NamedTuple):
    name: str
    item_type: str
    level: str  # the tenant level that handles it: province, city, county, township
    department: str  # a key of departments.DEPARTMENT_NAMES
    themes: list[str]
    keywords: list[str]
    days: int  # statutory (or, where the law sets none, promised) working days
    materials: list[Material]
    legal_basis: str
    result: str = ""
    fees: tuple = ()
    depth: int = 0  # 0: the item type's default
    visits: int = -1  # -1: the item type's default
    fields: tuple[str, ...] = ()  # item-specific field sets of the form (forms.py FIELD_SETS)
    conditions: str = ""

    @property
    def for_organisations(self) -> bool:
        return all(theme in ORGANISATION for theme in self.themes)

    @property
    def online(self) -> tuple[int, int]:
        depth, visits = DEFAULT_ONLINE[self.item_type]
        return self.depth or depth, visits if self.visits < 0 else self.visits

    @property
    def process(self) -> str:
        return PROCESS[self.item_type]

    @property
    def condition_text(self) -> str:
        if self.conditions:
            return self.conditions
        who = "申请单位" if self.for_organisations else "申请人"
        law = self.legal_basis.split("》")[0] + "》"
        return f"{who}符合{law}等规定的条件，材料齐全、符合法定形式"

    @property
    def result_name(self) -> str:
        return self.result or f"{self.name}办理结果"


def item(
    name, item_type, level, department, themes, keywords, days, materials, legal_basis, **more
):
    return DemoItem(
        name, item_type, level, department, list(themes), list(keywords), days, list(materials),
        legal_basis, **more,
    )  # fmt: skip
