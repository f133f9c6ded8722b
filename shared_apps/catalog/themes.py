"""Themes (主题) by which citizens and organisations browse services, as the national portal groups
them: life events for individuals (个人服务) and the life of a business for organisations (法人服务).

A basic item's `themes` holds the Chinese names below (the catalog's own data language); the labels
are for the English pages.
"""

from django.utils.translation import gettext_lazy as _

PERSONAL = {
    "生育": _("Birth and adoption"),
    "户籍": _("Household registration"),
    "教育": _("Education"),
    "就业": _("Employment"),
    "社保": _("Social insurance"),
    "婚姻": _("Marriage"),
    "住房": _("Housing"),
    "医疗": _("Health care"),
    "养老": _("Old age"),
    "残疾人": _("Disability"),
    "出入境": _("Travel abroad"),
    "交通": _("Driving and transport"),
    "证件": _("Certificates and ID"),
    "退役军人": _("Veterans"),
    "殡葬": _("Death and funerals"),
}

ORGANISATION = {
    "设立": _("Starting a business"),
    "准营": _("Permits to operate"),
    "经营": _("Running a business"),
    "变更": _("Changes"),
    "工程建设": _("Construction projects"),
    "纳税": _("Taxes and fees"),
    "用工": _("Employing people"),
    "资质": _("Qualifications"),
    "注销": _("Closing a business"),
}

THEMES = {**PERSONAL, **ORGANISATION}
