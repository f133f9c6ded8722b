"""Application forms of the demo items (JSON Schema, draft 2020-12), built from reusable field sets,
and the blank forms and samples the platform serves for materials that are forms.
"""

ID_NUMBER = {"type": "string", "title": "公民身份号码", "pattern": "^[0-9]{17}[0-9X]$"}
MOBILE = {"type": "string", "title": "联系电话", "pattern": "^1[3-9][0-9]{9}$"}
CREDIT_CODE = {
    "type": "string",
    "title": "统一社会信用代码",
    "pattern": "^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$",
}


def text(title, max_length=100, min_length=0):
    field = {"type": "string", "title": title, "maxLength": max_length}
    return field | ({"minLength": min_length} if min_length else {})


def date(title):
    return {"type": "string", "title": title, "format": "date"}


def number(title, minimum=0, maximum=None, integer=False):
    field = {"type": "integer" if integer else "number", "title": title, "minimum": minimum}
    return field | ({"maximum": maximum} if maximum is not None else {})


def choice(title, options):
    return {"type": "string", "title": title, "enum": list(options)}


# Who applies: a person (个人) or an organisation (法人和其他组织). (fields, required)
APPLICANTS = {
    "person": (
        {
            "applicant_name": text("申请人姓名", 50, 1),
            "id_number": ID_NUMBER,
            "phone": MOBILE,
            "address": text("联系地址", 200),
        },
        ["applicant_name", "id_number", "phone"],
    ),
    "organisation": (
        {
            "organisation_name": text("单位名称", 200, 1),
            "credit_code": CREDIT_CODE,
            "legal_representative": text("法定代表人（负责人）", 50, 1),
            "contact_name": text("联系人", 50, 1),
            "phone": MOBILE,
            "address": text("住所（通讯地址）", 200),
        },
        ["organisation_name", "credit_code", "legal_representative", "contact_name", "phone"],
    ),
}

# What an item asks beyond who applies. (fields, required)
FIELD_SETS = {
    "premises": (
        {
            "premises_address": text("经营场所地址", 200, 1),
            "business_scope": text("经营范围（项目）", 500, 1),
            "floor_area": number("经营场所面积（平方米）", 0, 1_000_000),
        },
        ["premises_address", "business_scope"],
    ),
    "registration": (
        {
            "proposed_name": text("名称（申请登记的名称）", 200, 1),
            "registered_capital": number("注册资本（出资额，万元）", 0, 100_000_000),
            "business_scope": text("经营范围", 1000, 1),
            "premises_address": text("住所（经营场所）", 200, 1),
        },
        ["proposed_name", "business_scope", "premises_address"],
    ),
    "change": (
        {
            "changed_matter": text("变更事项", 100, 1),
            "before": text("变更前内容", 500, 1),
            "after": text("变更后内容", 500, 1),
        },
        ["changed_matter", "before", "after"],
    ),
    "deregistration": (
        {
            "reason": choice(
                "注销原因", ["决议解散", "营业期限届满", "被吊销营业执照", "破产", "其他"]
            ),
            "liquidation_done": {"type": "boolean", "title": "债权债务已清算完结"},
        },
        ["reason", "liquidation_done"],
    ),
    "project": (
        {
            "project_name": text("项目名称", 200, 1),
            "project_address": text("建设地点", 200, 1),
            "floor_area": number("建筑面积（平方米）", 0, 10_000_000),
            "investment": number("总投资（万元）", 0, 100_000_000),
        },
        ["project_name", "project_address"],
    ),
    "land": (
        {
            "parcel_location": text("坐落（宗地位置）", 200, 1),
            "land_area": number("面积（平方米）", 0, 100_000_000),
            "land_use": text("用途", 50, 1),
        },
        ["parcel_location", "land_area", "land_use"],
    ),
    "vehicle": (
        {
            "plate_number": text("号牌号码", 10),
            "vehicle_type": choice("车辆类型", ["小型汽车", "大型汽车", "挂车", "摩托车", "其他"]),
            "vin": {"type": "string", "title": "车辆识别代号", "pattern": "^[A-HJ-NPR-Z0-9]{17}$"},
        },
        ["vehicle_type"],
    ),
    "marriage": (
        {
            "spouse_name": text("另一方姓名", 50, 1),
            "spouse_id_number": ID_NUMBER | {"title": "另一方公民身份号码"},
            "appointment_date": date("预约办理日期"),
        },
        ["spouse_name", "spouse_id_number"],
    ),
    "child": (
        {
            "child_name": text("子女姓名", 50, 1),
            "child_birth_date": date("出生日期"),
            "child_sex": choice("性别", ["男", "女"]),
        },
        ["child_name", "child_birth_date"],
    ),
    "school": (
        {
            "student_name": text("学生姓名", 50, 1),
            "current_school": text("现就读学校", 200),
            "target_school": text("申请学校", 200),
            "grade": choice(
                "年级",
                [
                    "一年级",
                    "二年级",
                    "三年级",
                    "四年级",
                    "五年级",
                    "六年级",
                    "七年级",
                    "八年级",
                    "九年级",
                ],
            ),
        },
        ["student_name"],
    ),
    "benefit": (
        {
            "household_size": number("共同生活家庭人口", 1, 30, integer=True),
            "monthly_income": number("家庭月人均收入（元）", 0, 1_000_000),
            "reason": text("申请理由", 1000, 1),
            "bank_account": {
                "type": "string",
                "title": "发放账号（社会保障卡）",
                "pattern": "^[0-9]{12,19}$",
            },
        },
        ["reason", "bank_account"],
    ),
    "deceased": (
        {
            "deceased_name": text("逝者姓名", 50, 1),
            "deceased_id_number": ID_NUMBER | {"title": "逝者公民身份号码"},
            "date_of_death": date("死亡日期"),
            "relationship": text("申请人与逝者关系", 20, 1),
        },
        ["deceased_name", "deceased_id_number", "date_of_death", "relationship"],
    ),
    "employment": (
        {
            "employer": text("工作单位", 200),
            "employment_from": date("参加工作（参保）时间"),
            "occupation": text("职业（工种）", 100),
        },
        [],
    ),
    "qualification": (
        {
            "qualification": text("申请的资格（资质）类别和等级", 200, 1),
            "certificate_number": text("现有证书编号", 50),
        },
        ["qualification"],
    ),
    "dispute": (
        {
            "respondent": text("被申请人", 200, 1),
            "claims": text("仲裁请求", 2000, 1),
            "facts": text("事实和理由", 5000, 1),
            "amount": number("请求金额（元）", 0, 100_000_000),
        },
        ["respondent", "claims", "facts"],
    ),
    "travel": (
        {
            "destination": choice("前往国家（地区）", ["外国", "香港", "澳门", "台湾"]),
            "purpose": choice("事由", ["旅游", "探亲", "商务", "学习", "就业", "定居", "其他"]),
        },
        ["destination", "purpose"],
    ),
    "agriculture": (
        {
            "village": text("所在村（社区）", 100, 1),
            "crop_or_stock": text("品种（作物、畜禽）", 100),
            "scale": number("规模（亩、头、只）", 0, 10_000_000),
        },
        ["village"],
    ),
}

# The blank form and the sample of each material that is a form: a handful of shared templates.
FORMS_DIR = "catalog/forms"
SAMPLE_FILES = {
    "application-person": ("application-person.html", "application-person-sample.html"),
    "application-organisation": (
        "application-organisation.html",
        "application-organisation-sample.html",
    ),
    "attorney": ("attorney.html", "attorney-sample.html"),
    "commitment": ("commitment.html", "commitment-sample.html"),
}


def template_key(template: str, for_organisations: bool) -> str:
    """A material's template, the application form resolved to whoever applies."""
    if template == "application":
        return "application-organisation" if for_organisations else "application-person"
    return template


def form_schema(name: str, for_organisations: bool, field_sets=()) -> dict:
    """The item's application form: who applies, what the item asks, and a free-text note."""
    properties, required = {}, []
    for fields, needed in [
        APPLICANTS["organisation" if for_organisations else "person"],
        *(FIELD_SETS[key] for key in field_sets),
    ]:
        properties.update(fields)
        required += [field for field in needed if field not in required]
    properties["remarks"] = text("申请事项说明", 1000)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "title": f"{name}申请表",
        "required": required,
        "properties": properties,
    }
