"""The departments of the demo units: what a Henan province, city, county and township really has.

Items name their department by key; each level spells it its own way (省公安厅, 市公安局, 公安局).
A unit's department names carry no place prefix (the unit is the prefix: 中牟县 + 公安局). The order
is the order of the departments' serial numbers in their demo credit codes: append, never reorder.
"""

# key: (province, city, county); "" where the level has no such department.
DEPARTMENT_NAMES = {
    "政务": ("省政务服务和大数据管理局", "市政务服务和大数据管理局", "政务服务和大数据管理局"),
    "市场监管": ("省市场监督管理局", "市市场监督管理局", "市场监督管理局"),
    "公安": ("省公安厅", "市公安局", "公安局"),
    "民政": ("省民政厅", "市民政局", "民政局"),
    "人社": ("省人力资源和社会保障厅", "市人力资源和社会保障局", "人力资源和社会保障局"),
    "住建": ("省住房和城乡建设厅", "市住房和城乡建设局", "住房和城乡建设局"),
    "卫健": ("省卫生健康委员会", "市卫生健康委员会", "卫生健康委员会"),
    "教育": ("省教育厅", "市教育局", "教育局"),
    "发改": ("省发展和改革委员会", "市发展和改革委员会", "发展和改革委员会"),
    "工信": ("省工业和信息化厅", "市工业和信息化局", "工业和信息化局"),
    "司法": ("省司法厅", "市司法局", "司法局"),
    "财政": ("省财政厅", "市财政局", "财政局"),
    "自然资源": ("省自然资源厅", "市自然资源和规划局", "自然资源局"),
    "生态环境": ("省生态环境厅", "市生态环境局", "生态环境分局"),
    "交通": ("省交通运输厅", "市交通运输局", "交通运输局"),
    "水利": ("省水利厅", "市水利局", "水利局"),
    "农业": ("省农业农村厅", "市农业农村局", "农业农村局"),
    "商务": ("省商务厅", "市商务局", "商务局"),
    "文旅": ("省文化和旅游厅", "市文化广电和旅游局", "文化广电和旅游局"),
    "应急": ("省应急管理厅", "市应急管理局", "应急管理局"),
    "医保": ("省医疗保障局", "市医疗保障局", "医疗保障局"),
    "退役军人": ("省退役军人事务厅", "市退役军人事务局", "退役军人事务局"),
    "林业": ("省林业局", "市林业局", "林业局"),
    "城管": ("", "市城市管理局", "城市管理局"),
    "统计": ("省统计局", "市统计局", "统计局"),
    "档案": ("省档案馆", "市档案馆", "档案馆"),
    "税务": ("国家税务总局河南省税务局", "市税务局", "税务局"),
    "残联": ("省残疾人联合会", "市残疾人联合会", "残疾人联合会"),
    "公积金": ("", "市住房公积金管理中心", "住房公积金管理中心县管理部"),
    "消防": ("省消防救援总队", "市消防救援支队", "消防救援大队"),
    "气象": ("省气象局", "市气象局", "气象局"),
    "烟草": ("省烟草专卖局", "市烟草专卖局", "烟草专卖局"),
}

# A township (乡镇/街道) handles its items in its service centre and a few offices.
TOWNSHIP_DEPARTMENTS = {
    "便民服务": "党政综合便民服务中心",
    "社会事务": "社会事务办公室",
    "农业服务": "农业农村服务中心",
    "退役军人服务": "退役军人服务站",
    "武装": "人民武装部",
}

_COLUMN = {"province": 0, "city": 1, "county": 2}


def department_name(key: str, level: str) -> str:
    """The name of the department with this key in a unit of this level ("" if it has none)."""
    if level == "township":
        return TOWNSHIP_DEPARTMENTS.get(key, "")
    return DEPARTMENT_NAMES[key][_COLUMN[level]] if key in DEPARTMENT_NAMES else ""


DEPARTMENTS = {
    level: [names[column] for names in DEPARTMENT_NAMES.values() if names[column]]
    for level, column in _COLUMN.items()
} | {"township": list(TOWNSHIP_DEPARTMENTS.values())}
