"""Subdomains of tenants: readable, stable and unique.

A subdomain is the pinyin of the unit's name without its administrative suffix, assigned once when
the unit is first imported and kept through renames (old links keep working). Clashes are resolved
in import order (province, cities, counties, townships; by code within a level):

- province and city: the name (河南省 → henan, 郑州市 → zhengzhou);
- county: the name (金水区 → jinshui); if taken, the name with its suffix (新乡县 → xinxiangxian);
  if still taken, followed by its city (鼓楼区 → gulou-kaifeng);
- township: the name followed by its county (林山寨街道 in 中原区 → linshanzhai-zhongyuan), since
  township names repeat across a province (over a hundred 城关镇); if taken, with its suffix.

A last resort appends the code's distinguishing digits. Reserved labels (www, api, …) and former
subdomains that still redirect (aliases) are never given.

Readings. pypinyin reads a character the way it is most often read, which in a place name is often
wrong: 漯河 is luohe (not tahe), 长垣 changyuan, 浚县 xunxian, 召陵 shaoling, 都 in 魏都 du. The names
are read through PLACE_READINGS first (the longest entry that matches wins) and only what it does
not cover goes to pypinyin. The table was made by reviewing every name of the Henan list that has a
character with more than one reading (`python -m tenants.divisions.readings` lists them); the
decisions, including readings checked and left to pypinyin, are in docs/design/subdomains.md.

Correcting a reading renames the subdomains that were made from the misreading (misread_subdomains):
the division import does it, keeps each former subdomain as an alias that redirects to the new one,
and audits every change. That pass recognises a subdomain as misread when the plain pypinyin reading
of the unit's current name produces it; a subdomain kept from an earlier name is left alone.
"""

import re
from dataclasses import dataclass

from pypinyin import Style, lazy_pinyin

SUFFIXES = ("街道办事处", "街道", "自治县", "自治州", "地区", "镇", "乡", "区", "县", "市", "省")

# Place-name readings pypinyin gets wrong, as phrase → syllables (a single character where it reads
# the same in every name of the province). Checked against the whole Henan list by the tests.
PLACE_READINGS = {
    "长": "chang",  # 长垣, 长葛, 长水, 长台关…: never zhang in a place name
    "漯": "luo",  # 漯河
    "浚": "xun",  # 浚县, 浚州
    "召陵": "shaoling",  # 召陵区, 召陵镇 (南召, 君召 and the others stay zhao)
    "都": "du",  # 魏都, 殷都, 都里…: a capital, never dou
    "泌": "bi",  # 泌阳, 泌水 (the river of 泌阳)
    "南乐": "nanle",
    "太行": "taihang",
    "朝歌": "zhaoge",
    "朝阳": "chaoyang",
    "祭城": "zhaicheng",  # the ancient state of 祭 (Zhài), 郑州
    "繁塔": "pota",  # 开封's 繁台, named after a family 繁 (Pó)
    "番城": "pocheng",  # 固始, the ancient state of 番 (Pó)
    "佛": "fo",  # 石佛, 千佛阁: the Buddha
    "翟": "zhai",  # the surname, in 翟镇, 翟坡, 翟庄
    "涡": "guo",  # 涡北, north of the 涡河 (Guō)
    "卜": "bu",  # 卜塔集
    "仇楼": "qiulou",  # the surname 仇 (Qiú)
    "勒马": "lema",
    "卡房": "qiafang",  # a checkpoint (关卡, qiǎ) that gave the place its name
    "大隗": "dawei",  # 大隗 of 具茨山 (Zhuangzi), 新密
}
_LONGEST_READING = max(len(phrase) for phrase in PLACE_READINGS)


def _plain_syllables(text: str) -> list[str]:
    return lazy_pinyin(text, style=Style.NORMAL, errors="ignore") if text else []


def syllables(name: str, readings: dict[str, str] | None = None) -> list[str]:
    """The name's pinyin, place readings first (longest match), pypinyin for the rest."""
    readings = PLACE_READINGS if readings is None else readings
    longest = max((len(p) for p in readings), default=0)
    result: list[str] = []
    pending = ""  # text between two readings, read by pypinyin as one piece (its phrases matter)
    position = 0
    while position < len(name):
        for length in range(min(longest, len(name) - position), 0, -1):
            reading = readings.get(name[position : position + length])
            if reading is not None:
                result += _plain_syllables(pending)
                result.append(reading)
                pending = ""
                position += length
                break
        else:
            pending += name[position]
            position += 1
    return result + _plain_syllables(pending)


def _clean(syllable_list: list[str]) -> str:
    return re.sub(r"[^a-z0-9]", "", "".join(syllable_list).lower())


def slug(name: str) -> str:
    return _clean(syllables(name))


def misread_slug(name: str) -> str:
    """The slug pypinyin alone makes: what subdomains were before PLACE_READINGS."""
    return _clean(_plain_syllables(name))


def strip_suffix(name: str) -> str:
    for suffix in SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


def candidates(
    name: str, level: str, code: str, parent_subdomain: str | None, *, read=slug
) -> list[str]:
    short, full = read(strip_suffix(name)), read(name)
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


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    level: str
    parent_code: str  # empty for the province
    subdomain: str


def misread_subdomains(units: list[Unit], taken: set[str]) -> dict[str, str]:
    """New subdomains for the units whose subdomain was made from a misreading: {code: subdomain}.

    `units` in import order (parents first); `taken` holds every label that can't be given (all
    current subdomains, aliases, reserved labels) and receives the new ones. A unit's subdomain is
    misread when the plain pypinyin candidates of its name, with its parent's former subdomain,
    contain it and the corrected candidates, with its parent's new subdomain, do not: a township
    follows a county whose subdomain changed. A subdomain kept from an earlier name matches neither
    and is kept; the old ones stay taken (they become aliases)."""
    former = {unit.code: unit.subdomain for unit in units}
    current = dict(former)
    renamed: dict[str, str] = {}
    for unit in units:
        parent = unit.parent_code or None
        # A name no entry applies to reads as pypinyin reads it: only its parent can change it.
        if parent not in renamed and not any(p in unit.name for p in PLACE_READINGS):
            continue
        misread = candidates(
            unit.name, unit.level, unit.code, former.get(parent), read=misread_slug
        )
        right = candidates(unit.name, unit.level, unit.code, current.get(parent))
        if unit.subdomain not in misread or unit.subdomain in right:
            continue
        new = next((option for option in right if option not in taken), None)
        if new is None:
            raise ValueError(f"no free subdomain for {unit.code} {unit.name}")
        taken.add(new)
        current[unit.code] = renamed[unit.code] = new
    return renamed
