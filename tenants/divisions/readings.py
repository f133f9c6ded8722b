"""List the names of a division file that contain a character with more than one reading, with the
reading their subdomain uses, for review (tenants/subdomains.py, PLACE_READINGS):

    python -m tenants.divisions.readings [file.csv]      # default: Henan's list

One line per name: code, the unit's path, the name, the polyphonic characters with every reading
pypinyin knows, the reading pypinyin alone gives and, where PLACE_READINGS changes it, the corrected
one (marked `*`).
"""

import csv
import sys
from pathlib import Path

from pypinyin import Style, pinyin

from tenants import subdomains

HENAN = Path(__file__).resolve().parent / "henan.csv"


def polyphonic(character: str) -> list[str]:
    readings = pinyin(character, style=Style.NORMAL, heteronym=True)[0]
    return list(dict.fromkeys(readings)) if len(set(readings)) > 1 else []


def report(path: Path) -> list[str]:
    with path.open(encoding="utf-8-sig") as source:
        rows = list(csv.DictReader(source))
    by_code = {row["code"]: row for row in rows}
    lines = []
    for row in rows:
        characters = [(c, polyphonic(c)) for c in dict.fromkeys(row["name"])]
        characters = [(c, readings) for c, readings in characters if readings]
        if not characters:
            continue
        names, parent = [], by_code.get(row["parent_code"])
        while parent is not None:
            names.append(parent["name"])
            parent = by_code.get(parent["parent_code"])
        plain, read = subdomains.misread_slug(row["name"]), subdomains.slug(row["name"])
        lines.append(
            "\t".join(
                [
                    row["code"],
                    "/".join(reversed(names)) or "-",
                    row["name"],
                    " ".join(f"{c}:{'|'.join(readings)}" for c, readings in characters),
                    plain if plain == read else f"{plain} → {read} *",
                ]
            )
        )
    return lines


if __name__ == "__main__":
    for line in report(Path(sys.argv[1]) if len(sys.argv) > 1 else HENAN):
        print(line)
