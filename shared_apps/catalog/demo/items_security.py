"""Demo items of public security (户政, 出入境, 交管, 治安), justice and fire and rescue."""

from shared_apps.catalog.demo.spec import (
    APP,
    ATTORNEY,
    COMMITMENT,
    DEATH_CERT,
    DRIVING_LICENCE,
    EXIT_PERMIT_FEE,
    HOUSEHOLD,
    ID_CARD,
    ID_CARD_FEE,
    LICENSE,
    VEHICLE_LICENCE,
    gov,
    item,
    optional,
    other,
    own,
)
from shared_apps.catalog.models import OnlineDepth

E_LICENSE, RESULT, HANDLING = OnlineDepth.E_LICENSE, OnlineDepth.RESULT, OnlineDepth.HANDLING
HOUSEHOLD_REGISTRATION = "《中华人民共和国户口登记条例》"
ROAD_TRAFFIC = "《中华人民共和国道路交通安全法》"
VEHICLE_REGISTRATION = "《机动车登记规定》（公安部令第164号）"
DRIVING_LICENCES = "《机动车驾驶证申领和使用规定》（公安部令第162号）"
PHOTO_ONE = own("近期免冠证件照片", 1)
TEMPORARY_ID_FEE = {
    "item": "临时居民身份证工本费",
    "rate": "10 元/证",
    "basis": "《国家发展改革委 财政部关于居民身份证收费标准及有关问题的通知》",
}

# fmt: off
SECURITY_ITEMS = [
    # county: household registration (户政)
    item(
        "居民身份证补领", "20", "county", "公安", ["证件", "户籍"],
        ["身份证丢了", "遗失补办", "挂失"], 60,
        [HOUSEHOLD],
        "《中华人民共和国居民身份证法》第十一条",
        result="居民身份证", fees=(ID_CARD_FEE,), depth=HANDLING,
    ),
    item(
        "临时居民身份证申领", "20", "county", "公安", ["证件"],
        ["临时身份证", "乘车", "急用身份证"], 3,
        [HOUSEHOLD, PHOTO_ONE],
        "《中华人民共和国临时居民身份证管理办法》",
        result="临时居民身份证", fees=(TEMPORARY_ID_FEE,), depth=OnlineDepth.SUBMISSION,
    ),
    item(
        "户口登记项目变更更正", "07", "county", "公安", ["户籍"],
        ["改名", "更改出生日期", "民族变更", "户口信息更正"], 20,
        [APP, HOUSEHOLD, ID_CARD, own("变更更正依据的证明材料")],
        f"{HOUSEHOLD_REGISTRATION}第十七条",
        result="户口簿变更更正记载",
    ),
    item(
        "死亡注销户口", "07", "county", "公安", ["殡葬", "户籍"],
        ["销户", "死亡登记", "去世注销"], 1,
        [DEATH_CERT, HOUSEHOLD, gov("死者居民身份证", 1, 0, optional=True)],
        f"{HOUSEHOLD_REGISTRATION}第八条",
        result="户口注销证明", depth=RESULT, visits=0, fields=("deceased",),
    ),
    item(
        "户籍证明出具", "20", "county", "公安", ["户籍", "证件"],
        ["户籍证明", "亲属关系证明", "曾用名证明", "户口注销证明"], 1,
        [ID_CARD, own("用途说明", optional=True)],
        HOUSEHOLD_REGISTRATION,
        result="户籍证明", depth=E_LICENSE, visits=0,
    ),
    item(
        "无犯罪记录证明出具", "20", "county", "公安", ["证件", "就业"],
        ["无犯罪证明", "犯罪记录查询", "政审", "出国证明"], 3,
        [ID_CARD, ATTORNEY],
        "《公安机关办理犯罪记录查询工作规定》（公通字〔2021〕19号）",
        result="无犯罪记录证明", depth=E_LICENSE, visits=0,
    ),
    # county: public order (治安)
    item(
        "旅馆业特种行业许可证核发", "01", "county", "公安", ["准营"],
        ["旅馆", "宾馆", "民宿", "特种行业许可证"], 20,
        [APP, LICENSE, own("经营场所平面图和安全设施说明"), own("治安保卫制度"), gov("消防安全检查合格证明或者告知承诺", 0, 1)],
        "《旅馆业治安管理办法》",
        result="特种行业许可证", fields=("premises",),
    ),
    item(
        "公章刻制备案", "10", "county", "公安", ["设立"],
        ["刻章", "公章", "印章备案", "新开办企业"], 1,
        [LICENSE, own("印章刻制信息（刻章企业代为报送）")],
        "《印铸刻字业暂行管理规则》",
        result="印章备案信息", depth=RESULT, visits=0,
    ),
    item(
        "大型群众性活动安全许可", "01", "county", "公安", ["经营"],
        ["演唱会", "大型活动", "展销会", "安全许可"], 7,
        [APP, own("活动安全工作方案"), own("场所管理者同意使用的证明"), LICENSE],
        "《大型群众性活动安全管理条例》",
        result="大型群众性活动安全许可决定书",
    ),
    item(
        "剧毒化学品购买许可证核发", "01", "county", "公安", ["经营"],
        ["剧毒化学品", "危化品购买", "购买许可"], 3,
        [APP, LICENSE, own("购买剧毒化学品用途说明"), gov("经办人身份证明", 0, 1)],
        "《危险化学品安全管理条例》",
        result="剧毒化学品购买许可证",
    ),
    # county: exit and entry (出入境)
    item(
        "外国人住宿登记", "20", "county", "公安", ["出入境"],
        ["外国人", "境外人员", "住宿登记", "临时住宿"], 1,
        [own("外国人的护照或者其他国际旅行证件", 0, 1), own("住宿登记表")],
        "《中华人民共和国出境入境管理法》第三十九条",
        result="境外人员住宿登记回执", depth=RESULT, visits=0, fields=("travel",),
    ),
    item(
        "往来港澳通行证签注签发", "20", "county", "公安", ["出入境", "证件"],
        ["港澳签注", "团队旅游签注", "个人旅游签注", "再次签注"], 7,
        [ID_CARD, gov("往来港澳通行证", 1, 0)],
        "《中国公民因私事往来香港地区或者澳门地区的暂行管理办法》",
        result="往来港澳通行证签注", fees=(EXIT_PERMIT_FEE,), depth=E_LICENSE, visits=0, fields=("travel",),
    ),
    item(
        "外国人居留许可签发", "20", "city", "公安", ["出入境", "用工"],
        ["外国人居留", "工作类居留", "居留证件"], 15,
        [APP, own("护照", 1, 1), own("工作、学习、团聚等居留事由证明"), PHOTO_ONE],
        "《中华人民共和国出境入境管理法》第三十条；《中华人民共和国外国人入境出境管理条例》",
        result="外国人居留许可", fields=("travel",),
    ),
    # county: traffic administration (交管)
    item(
        "机动车驾驶证核发", "01", "county", "公安", ["交通", "证件"],
        ["学车", "驾考", "科目一", "考驾照"], 10,
        [ID_CARD, other("机动车驾驶人身体条件证明"), PHOTO_ONE],
        f"{ROAD_TRAFFIC}第十九条；{DRIVING_LICENCES}",
        result="机动车驾驶证", depth=HANDLING,
    ),
    item(
        "机动车驾驶证补证", "20", "county", "公安", ["交通", "证件"],
        ["驾照丢了", "补办驾驶证", "驾驶证遗失"], 1,
        [ID_CARD],
        DRIVING_LICENCES,
        result="机动车驾驶证", depth=E_LICENSE, visits=0,
    ),
    item(
        "机动车转移登记", "07", "county", "公安", ["交通"],
        ["二手车过户", "车辆过户", "转籍"], 1,
        [ID_CARD, gov("机动车登记证书", 1, 0), VEHICLE_LICENCE, other("机动车来历证明（二手车销售统一发票）")],
        f"{ROAD_TRAFFIC}第十二条；{VEHICLE_REGISTRATION}",
        result="机动车登记证书（转移登记记载）、行驶证", fields=("vehicle",),
    ),
    item(
        "机动车抵押登记", "07", "county", "公安", ["交通", "经营"],
        ["车辆抵押", "车贷", "解除抵押"], 1,
        [ID_CARD, gov("机动车登记证书", 1, 0), own("抵押合同")],
        f"《中华人民共和国民法典》第四百零三条；{VEHICLE_REGISTRATION}",
        result="机动车登记证书（抵押登记记载）", depth=RESULT, fields=("vehicle",),
    ),
    item(
        "机动车注销登记", "07", "county", "公安", ["交通"],
        ["车辆报废", "注销车辆", "报废车"], 1,
        [ID_CARD, other("报废机动车回收证明"), gov("机动车登记证书", 1, 0, optional=True)],
        f"{VEHICLE_REGISTRATION}；《报废机动车回收管理办法》（国务院令第715号）",
        result="机动车注销证明书", depth=RESULT, fields=("vehicle",),
    ),
    item(
        "机动车检验合格标志核发", "20", "county", "公安", ["交通"],
        ["年检", "年审", "免检", "检验标志"], 1,
        [VEHICLE_LICENCE, other("机动车交通事故责任强制保险凭证"), other("机动车安全技术检验报告", optional=True)],
        f"{ROAD_TRAFFIC}第十三条；《机动车安全技术检验项目和方法》",
        result="机动车检验合格标志（电子）", depth=E_LICENSE, visits=0, fields=("vehicle",),
    ),
    item(
        "补领机动车号牌和行驶证", "20", "county", "公安", ["交通", "证件"],
        ["号牌丢失", "行驶证补领", "车牌补办"], 1,
        [ID_CARD],
        VEHICLE_REGISTRATION,
        result="机动车号牌、行驶证", depth=HANDLING, fields=("vehicle",),
    ),
    item(
        "机动车临时通行牌证核发", "20", "county", "公安", ["交通"],
        ["临时号牌", "临牌", "新车临时牌照"], 1,
        [ID_CARD, other("机动车来历证明"), other("机动车交通事故责任强制保险凭证")],
        VEHICLE_REGISTRATION,
        result="临时行驶车号牌", depth=E_LICENSE, visits=0, fields=("vehicle",),
    ),
    item(
        "道路交通事故认定", "07", "county", "公安", ["交通"],
        ["交通事故", "事故认定书", "责任认定", "车祸"], 10,
        [ID_CARD, DRIVING_LICENCE, VEHICLE_LICENCE, own("事故相关证据材料", optional=True)],
        f"{ROAD_TRAFFIC}第七十三条；《道路交通事故处理程序规定》",
        result="道路交通事故认定书", depth=OnlineDepth.CONSULTATION,
    ),
    item(
        "电动自行车登记", "07", "county", "公安", ["交通"],
        ["电动车上牌", "电动车号牌", "电瓶车"], 1,
        [ID_CARD, other("电动自行车购车发票或者来历证明"), other("产品合格证明")],
        f"{ROAD_TRAFFIC}第十八条",
        result="电动自行车号牌和行驶证", depth=HANDLING, fields=("vehicle",),
    ),
    # county: justice (司法局)
    item(
        "法律援助申请", "20", "county", "司法", ["就业", "残疾人"],
        ["法律援助", "免费律师", "打官司没钱", "讨薪"], 7,
        [own("法律援助申请表"), ID_CARD, own("经济困难状况说明表"), own("与所申请法律援助事项有关的材料")],
        "《中华人民共和国法律援助法》",
        result="给予法律援助决定书", depth=OnlineDepth.ACCEPTANCE, fields=("dispute",),
    ),
    item(
        "人民调解申请", "20", "county", "司法", ["婚姻", "住房"],
        ["邻里纠纷", "调解", "矛盾纠纷", "人民调解委员会"], 30,
        [ID_CARD, own("纠纷情况说明")],
        "《中华人民共和国人民调解法》",
        result="人民调解协议书", depth=OnlineDepth.SUBMISSION, fields=("dispute",),
    ),
    item(
        "公证事项办理", "20", "county", "司法", ["证件", "出入境"],
        ["公证", "出生公证", "学历公证", "继承公证", "委托书公证"], 15,
        [ID_CARD, own("需要公证的文书或者事实的证明材料")],
        "《中华人民共和国公证法》；《公证程序规则》",
        result="公证书",
    ),
    item(
        "律师执业许可", "01", "province", "司法", ["就业", "资质"],
        ["律师执业证", "实习律师", "申请执业"], 20,
        [APP, gov("法律职业资格证书"), other("律师协会出具的申请人实习考核合格的材料"), ID_CARD, other("律师事务所出具的同意接收申请人的证明")],
        "《中华人民共和国律师法》第五条、第六条；《律师执业管理办法》",
        result="律师执业证书", depth=E_LICENSE, fields=("qualification",),
    ),
    item(
        "司法鉴定机构登记", "01", "province", "司法", ["资质"],
        ["司法鉴定", "鉴定机构", "法医鉴定"], 20,
        [APP, own("组织章程"), own("司法鉴定人名册及资格证明", 0, 1), own("仪器设备说明及所有权凭证")],
        "《全国人民代表大会常务委员会关于司法鉴定管理问题的决定》；《司法鉴定机构登记管理办法》",
        result="司法鉴定许可证", fields=("qualification",),
    ),
    # county: fire and rescue (消防救援大队)
    item(
        "公众聚集场所投入使用、营业前消防安全检查", "01", "county", "消防", ["准营"],
        ["消防检查", "开业消防", "KTV", "商场", "宾馆消防"], 10,
        [APP, LICENSE, COMMITMENT, other("消防设施检测报告", later=True)],
        "《中华人民共和国消防法》第十五条；《公众聚集场所投入使用、营业前消防安全检查规则》",
        result="公众聚集场所投入使用、营业前消防安全检查意见书", depth=E_LICENSE, fields=("premises",),
    ),
    item(
        "消防安全重点单位备案", "10", "county", "消防", ["经营"],
        ["消防安全管理人", "重点单位", "消防备案"], 5,
        [own("消防安全重点单位备案表"), own("消防安全管理制度")],
        "《中华人民共和国消防法》；《机关、团体、企业、事业单位消防安全管理规定》（公安部令第61号）",
        result="备案回执", depth=RESULT, visits=0,
    ),
    item(
        "遗体接运火化服务", "20", "county", "民政", ["殡葬"],
        ["火化证明", "殡仪馆", "遗体火化"], 1,
        [DEATH_CERT, optional(ID_CARD)],
        "《殡葬管理条例》",
        result="火化证明", depth=OnlineDepth.CONSULTATION, fields=("deceased",),
    ),
    item(
        "居民户口簿补领、换领", "20", "county", "公安", ["户籍", "证件"],
        ["户口本丢了", "户口本补办", "户口本换新"], 5,
        [ID_CARD, own("补领（换领）申请", optional=True)],
        HOUSEHOLD_REGISTRATION,
        result="居民户口簿", depth=OnlineDepth.ACCEPTANCE,
    ),
    item(
        "港澳台居民居住证申领", "20", "county", "公安", ["证件", "出入境"],
        ["港澳居民", "台湾居民", "居住证"], 20,
        [gov("港澳居民来往内地通行证或者台湾居民来往大陆通行证", 1, 1), own("居住地住址、就业或者就读证明", 0, 1), PHOTO_ONE],
        "《港澳台居民居住证申领发放办法》（国办发〔2018〕81号）；《居住证暂行条例》",
        result="港澳台居民居住证", fields=("travel",),
    ),
    item(
        "机动车驾驶证审验", "20", "county", "公安", ["交通"],
        ["驾驶证审验", "记满12分", "年审驾照"], 1,
        [ID_CARD, DRIVING_LICENCE, other("身体条件证明", optional=True)],
        DRIVING_LICENCES,
        result="审验记录", depth=E_LICENSE, visits=0,
    ),
    item(
        "机动车变更登记", "07", "county", "公安", ["交通"],
        ["改颜色", "更换发动机", "车辆变更", "迁出"], 1,
        [ID_CARD, gov("机动车登记证书", 1, 0), VEHICLE_LICENCE],
        f"{ROAD_TRAFFIC}第十二条；{VEHICLE_REGISTRATION}",
        result="机动车登记证书（变更记载）、行驶证", fields=("vehicle",),
    ),
    item(
        "基层法律服务工作者执业核准", "01", "city", "司法", ["就业", "资质"],
        ["法律服务所", "基层法律服务", "执业证"], 20,
        [APP, ID_CARD, gov("学历证书", 0, 1), other("拟执业的基层法律服务所同意接收证明")],
        "《基层法律服务工作者管理办法》（司法部令第138号）",
        result="基层法律服务工作者执业证", fields=("qualification",),
    ),
]
# fmt: on
