"""Subdomains of tenants: readable, stable and unique.

A subdomain is the pinyin of the unit's name without its administrative suffix, assigned once when
the unit is first imported and kept through renames (old links keep working). Clashes are resolved
in import order (province, cities, counties, townships; by code within a level):

- province and city: the name (河南省 → henan, 郑州市 → zhengzhou);
- county: the name (金水区 → jinshui); if taken, the name with its suffix (新乡县 → xinxiangxian);
  if still taken, followed by its city (鼓楼区 → gulou-kaifeng);
- township: the name followed by its county (林山寨街道 in 中原区 → linshanzhai-zhongyuan), since
  township names repeat across a province (over a hundred 城关镇); if taken, with its suffix.

A last resort appends the code's distinguishing digits. Reserved labels (www, api, …) are never given.
"""

import re

from pypinyin import Style, lazy_pinyin

SUFFIXES = ("街道办事处", "街道", "自治县", "自治州", "地区", "镇", "乡", "区", "县", "市", "省")


def slug(name: str) -> str:
    syllables = lazy_pinyin(name, style=Style.NORMAL, errors="ignore")
    return re.sub(r"[^a-z0-9]", "", "".join(syllables).lower())


def strip_suffix(name: str) -> str:
    for suffix in SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


def candidates(name: str, level: str, code: str, parent_subdomain: str | None) -> list[str]:
    short, full = slug(strip_suffix(name)), slug(name)
    if level in ("province", "city"):
        options = [short, full]
    elif level == "county":
        options = [short, full]
        if parent_subdomain:
            options.append(f"{short}-{parent_subdomain}")
    else:
        options = [f"{short}-{parent_subdomain}", f"{full}-{parent_subdomain}"]
    options.append(f"{options[0]}-{code.rstrip('0') or code}")
    return [o[:63].strip("-") for o in options if o]


def choose(name: str, level: str, code: str, parent_subdomain: str | None, taken: set[str]) -> str:
    for option in candidates(name, level, code, parent_subdomain):
        if option not in taken:
            taken.add(option)
            return option
    raise ValueError(f"no free subdomain for {code} {name}")
