"""Demo items a township (乡镇/街道) really handles: first-instance acceptance of assistance,
family planning services, residence registration, farmland subsidies and veterans' services."""

from shared_apps.catalog.demo.spec import (
    APP,
    BANK_ACCOUNT,
    HOUSEHOLD,
    ID_CARD,
    MARRIAGE_CERT,
    gov,
    item,
    optional,
    other,
    own,
)
from shared_apps.catalog.models import OnlineDepth

SOCIAL_ASSISTANCE = "《社会救助暂行办法》"
FAMILY_PLANNING = "《中华人民共和国人口与计划生育法》；《河南省人口与计划生育条例》"

# fmt: off
TOWNSHIP_ITEMS = [
    item(
        "最低生活保障申请受理", "05", "township", "社会事务", ["社保"],
        ["低保申请", "低保初审", "入户调查", "民主评议"], 10,
        [APP, ID_CARD, HOUSEHOLD, own("家庭经济状况核对授权书"), own("家庭收入、财产状况申报材料")],
        f"{SOCIAL_ASSISTANCE}第十一条；《最低生活保障审核确认办法》（民发〔2021〕57号）",
        result="最低生活保障初审意见（报县级民政部门审核确认）", fields=("benefit",),
    ),
    item(
        "特困人员救助供养申请受理", "05", "township", "社会事务", ["社保", "养老", "残疾人"],
        ["特困申请", "五保申请", "供养申请"], 10,
        [APP, ID_CARD, HOUSEHOLD, own("本人收入、财产状况申报材料")],
        f"{SOCIAL_ASSISTANCE}；《特困人员认定办法》（民发〔2021〕43号）",
        result="特困人员救助供养初审意见（报县级民政部门审核确认）", fields=("benefit",),
    ),
    item(
        "困难群众医疗救助申请受理", "05", "township", "社会事务", ["医疗", "社保"],
        ["医疗救助申请", "看病救助", "大病困难"], 10,
        [APP, ID_CARD, other("医疗费用票据和诊断证明", 1, 0)],
        f"{SOCIAL_ASSISTANCE}；《国务院办公厅关于健全重特大疾病医疗保险和救助制度的意见》（国办发〔2021〕42号）",
        result="医疗救助初审意见", fields=("benefit",),
    ),
    item(
        "计划生育特别扶助金申领", "05", "township", "社会事务", ["生育", "养老"],
        ["特扶", "失独家庭", "独生子女伤残", "特别扶助"], 20,
        [APP, ID_CARD, HOUSEHOLD, other("独生子女死亡证明或者伤残证明", 0, 1), BANK_ACCOUNT],
        FAMILY_PLANNING,
        result="特别扶助金（按月发放）", fields=("benefit",),
    ),
    item(
        "免费孕前优生健康检查", "20", "township", "社会事务", ["生育", "医疗"],
        ["孕前检查", "优生检查", "备孕"], 1,
        [ID_CARD._replace(name="夫妻双方居民身份证", copies=0), optional(MARRIAGE_CERT._replace(copies=0))],
        FAMILY_PLANNING,
        result="孕前优生健康检查结果告知", depth=OnlineDepth.SUBMISSION, fields=("marriage",),
    ),
    item(
        "居住登记", "20", "township", "便民服务", ["户籍", "住房"],
        ["流动人口登记", "租房登记", "外来人口"], 1,
        [ID_CARD, own("居住地住址证明（租赁合同、房产证明等）", 0, 1)],
        "《居住证暂行条例》",
        result="居住登记凭证", depth=OnlineDepth.RESULT, visits=0,
    ),
    item(
        "城乡居民养老保险待遇领取资格认证", "20", "township", "社会事务", ["养老", "社保"],
        ["生存认证", "刷脸认证", "养老金认证"], 1,
        [ID_CARD._replace(copies=0)],
        "《中华人民共和国社会保险法》；《国务院关于建立统一的城乡居民基本养老保险制度的意见》（国发〔2014〕8号）",
        result="待遇领取资格认证结果", depth=OnlineDepth.E_LICENSE, visits=0,
    ),
    item(
        "耕地地力保护补贴申领", "05", "township", "农业服务", ["经营"],
        ["种粮补贴", "地力补贴", "粮食直补"], 30,
        [ID_CARD, gov("农村土地承包经营权证", 0, 1), own("耕地面积申报表"), BANK_ACCOUNT],
        "《财政部 农业部关于全面推开农业“三项补贴”改革工作的通知》（财农〔2016〕26号）",
        result="耕地地力保护补贴（发放到账）", fields=("agriculture", "land"),
    ),
    item(
        "农业保险投保登记", "20", "township", "农业服务", ["经营"],
        ["小麦保险", "玉米保险", "农业保险", "政策性保险"], 5,
        [ID_CARD, own("承保面积（数量）清单")],
        "《农业保险条例》",
        result="农业保险投保凭证", depth=OnlineDepth.SUBMISSION, fields=("agriculture",),
    ),
    item(
        "义务兵家庭优待金申请", "05", "township", "退役军人服务", ["退役军人"],
        ["优待金", "义务兵家属", "参军家庭"], 20,
        [APP, HOUSEHOLD, gov("入伍通知书或者部队证明", 0, 1), BANK_ACCOUNT],
        "《军人抚恤优待条例》；《中华人民共和国兵役法》",
        result="义务兵家庭优待金（发放到账）", fields=("benefit",),
    ),
    item(
        "退役军人和其他优抚对象信息采集", "20", "township", "退役军人服务", ["退役军人"],
        ["信息采集", "退役军人登记", "建档立卡"], 5,
        [ID_CARD, gov("退出现役证或者优抚对象证件", 0, 1)],
        "《中华人民共和国退役军人保障法》",
        result="信息采集登记", depth=OnlineDepth.SUBMISSION,
    ),
    item(
        "兵役登记", "20", "township", "武装", ["退役军人", "就业"],
        ["征兵", "当兵", "兵役登记", "应征入伍"], 1,
        [ID_CARD._replace(copies=0)],
        "《中华人民共和国兵役法》；《征兵工作条例》",
        result="兵役登记证明", depth=OnlineDepth.E_LICENSE, visits=0,
    ),
    item(
        "村民建房开工查验", "20", "township", "便民服务", ["住房"],
        ["建房放线", "开工查验", "农房建设"], 5,
        [gov("农村宅基地批准书", 0, 1), gov("乡村建设规划许可证", 0, 1)],
        "《农业农村部 自然资源部关于规范农村宅基地审批管理的通知》（农经发〔2019〕6号）",
        result="开工查验（放线）记录", depth=OnlineDepth.SUBMISSION, fields=("land",),
    ),
]
# fmt: on
