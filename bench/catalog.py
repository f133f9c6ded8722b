"""Catalog at provincial scale: `python -m bench.catalog`.

Its own database (`<DATABASE_URL's database>_catalogbench`, made and dropped here): Henan's 2,646
units, 5,000 basic items, and every unit implementing a realistic share (hundreds of items for
counties, dozens for townships); the demo items keep their keywords and themes, the others have a
name only. Measures routing, catalog search (with query expansion; the API and the catalog page),
a guide page, the portal's home page and units' home pages, in-process and through gunicorn over
HTTP, p50/p95 against the targets (10 / 50 / 50 / 30 / 30 / 30 ms at p95), in ROUNDS rounds (the
spread is the range of p95 over the rounds). Baseline in the same run: search with the query's own
words only, no expansion. Also prints what the expansion costs to load (the thesaurus and the
catalog's vocabulary: seconds, memory) and the search quality of both query sets on these 5,000
items (top 1 and top 5).
"""

import http.client
import os
import random
import socket
import statistics
import subprocess
import sys
import time

from bench.common import ROOT, percentiles, scratch_database, start_gunicorn

SAMPLES = 400
ROUNDS = 3
OBJECTS = [
    "食品经营",
    "药品零售",
    "医疗器械经营",
    "建筑工程施工",
    "城镇排水",
    "道路运输",
    "水路运输",
    "出版物经营",
    "烟草专卖零售",
    "燃气经营",
    "危险化学品经营",
    "特种设备使用",
    "公共场所卫生",
    "饮用水供水",
    "放射诊疗",
    "医疗机构执业",
    "民办学校办学",
    "职业培训学校",
    "人力资源服务",
    "劳务派遣经营",
    "旅行社设立",
    "娱乐场所",
    "互联网上网服务营业场所",
    "广播电视节目制作",
    "养老机构",
    "社会团体",
    "民办非企业单位",
    "林木采伐",
    "取水",
    "河道采砂",
    "农药经营",
    "兽药经营",
    "种子生产经营",
    "动物防疫条件",
    "生猪定点屠宰",
    "渔业捕捞",
]
ACTS = [
    "许可",
    "许可证核发",
    "登记",
    "变更登记",
    "注销登记",
    "备案",
    "审批",
    "延续",
    "补办",
    "年度报告",
    "资格认定",
    "证书换发",
    "检查",
    "处罚",
    "奖励",
    "确认",
    "给付",
    "征收",
    "裁决",
    "其他",
]
TYPES = [
    "01",
    "01",
    "07",
    "07",
    "07",
    "07",
    "00",
    "01",
    "20",
    "07",
    "07",
    "20",
    "06",
    "02",
    "08",
    "07",
    "05",
    "04",
    "09",
    "10",
]


def main() -> None:
    with scratch_database("catalogbench") as url:
        env = {**os.environ, "DATABASE_URL": url}
        for command in (["migrate_tenants"], ["import_divisions"]):
            subprocess.run(
                [sys.executable, "manage.py", *command],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
            )
        for step in ("generate", "measure"):
            code = f"from bench.catalog import {step}; {step}()"
            # Measured without the per-address limits (search: 120 a minute): the samples stand
            # for many citizens, not one address.
            settings = (
                {"DJANGO_SETTINGS_MODULE": "bench.flood_settings"} if step == "measure" else {}
            )
            subprocess.run(
                [sys.executable, "-c", code], cwd=ROOT, env={**env, **settings}, check=True
            )


def _django():
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govplatform.settings")
    django.setup()


def generate() -> None:
    """5,000 items and ~150,000 implementations, loaded in bulk (a benchmark fixture, not a path of
    the platform: published versions are inserted as drafts, given materials, then published)."""
    _django()
    from django.db import transaction
    from django.utils import timezone

    from shared_apps.catalog.codes import LEVEL_OF_TENANT
    from shared_apps.catalog.demo.items import ITEMS
    from shared_apps.catalog.models import (
        BasicItem,
        GuideMaterial,
        GuideVersion,
        Implementation,
        ImplementationMaterial,
    )
    from shared_apps.catalog.search import search_text_for
    from tenants.models import Tenant

    started = time.perf_counter()
    rng = random.Random(41)
    described = {spec[0]: (list(spec[5]), list(spec[4])) for spec in ITEMS}  # keywords, themes
    names = [spec[0] for spec in ITEMS] + [f"{o}{a}" for o in OBJECTS for a in ACTS]
    while len(names) < 5000:
        names.append(f"{rng.choice(OBJECTS)}{rng.choice(ACTS)}（第{len(names)}项）")
    now = timezone.now()
    with transaction.atomic():
        items = BasicItem.objects.bulk_create(
            BasicItem(
                code=f"41{TYPES[n % len(TYPES)]}{n + 1:05d}000",
                name=name,
                item_type=TYPES[n % len(TYPES)],
                exercising_levels=[2, 3, 4, 5],
                keywords=described.get(name, ([], []))[0],
                themes=described.get(name, ([], []))[1],
                search_text=search_text_for(name, *described.get(name, ([], []))),
            )
            for n, name in enumerate(names[:5000])
        )
        versions = GuideVersion.objects.bulk_create(
            GuideVersion(
                item=item,
                number=1,
                legal_basis="依据",
                conditions="条件",
                process="流程",
                statutory_days=20,
                max_online_depth=5,
            )
            for item in items
        )
        GuideMaterial.objects.bulk_create(
            GuideMaterial(version=v, name=m)
            for v in versions
            for m in ("申请书", "身份证明", "场所证明")
        )
        GuideVersion.objects.update(status="published", valid_from=now, published_at=now)
    materials = {}
    for m in GuideMaterial.objects.all():
        materials.setdefault(m.version_id, []).append(m)
    share = {"province": 500, "city": 200, "county": 300, "township": 40}
    tenants = list(Tenant.objects.all())
    total = 0
    for start in range(0, len(tenants), 100):
        rows = []
        for tenant in tenants[start : start + 100]:
            level = LEVEL_OF_TENANT[tenant.level]
            picked = rng.sample(range(5000), share[tenant.level])
            # Everyone lists the demo items (the first ones): routing has real work at every level.
            for n in sorted(set(picked) | set(range(20 if tenant.level == "township" else 60))):
                credit = f"11{tenant.code[:6]}MB{tenant.code[6:9]}0001"
                rows.append(
                    Implementation(
                        tenant=tenant,
                        item=items[n],
                        version=versions[n],
                        code=f"{credit}X{level}{items[n].code}"[:31],
                        department_id=1,
                        department_name="政务服务和大数据管理局",
                        department_credit_code=credit + "X",
                        exercising_level=level,
                        promised_days=10,
                        place=f"{tenant.name}政务服务中心",
                        hours="工作日",
                        enquiry_phone="12345",
                        complaint_phone="12345",
                        online_depth=5,
                        status="published",
                        published_at=now,
                    )
                )
        with transaction.atomic():
            Implementation.objects.bulk_create(rows, batch_size=5000)
            ImplementationMaterial.objects.bulk_create(
                (
                    ImplementationMaterial(implementation=r, guide_material=m)
                    for r in rows
                    for m in materials[r.version_id]
                ),
                batch_size=10000,
            )
        total += len(rows)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(
        f"generated 5,000 items and {total:,} implementations in {time.perf_counter() - started:.0f} s",
        flush=True,
    )


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def measure() -> None:
    _django()
    from urllib.parse import quote

    from django.conf import settings
    from django.test import Client

    from shared_apps.catalog import search
    from shared_apps.catalog.demo.quality import measure as quality_of
    from shared_apps.catalog.demo.queries import QUERIES
    from shared_apps.catalog.demo.queries_hotline import HOTLINE_QUERIES
    from shared_apps.catalog.models import BasicItem, Implementation
    from shared_apps.catalog.routing import route
    from tenants.models import Tenant

    before, started = _rss_mb(), time.perf_counter()
    search.thesaurus()
    print(
        f"thesaurus: {len(search.thesaurus()):,} words loaded in "
        f"{time.perf_counter() - started:.2f} s, +{_rss_mb() - before:.0f} MB resident",
        flush=True,
    )
    before, started = _rss_mb(), time.perf_counter()
    vocabulary = search.vocabulary()
    print(
        f"catalog vocabulary: {len(vocabulary.frequency):,} terms of {vocabulary.items:,} items in "
        f"{time.perf_counter() - started:.2f} s, +{_rss_mb() - before:.0f} MB resident",
        flush=True,
    )
    for label, query_set in (("shipped", QUERIES), ("hotline", HOTLINE_QUERIES)):
        print(f"search quality on 5,000 items, {label} set: {quality_of(query_set)}", flush=True)

    rng = random.Random(7)
    townships = list(Tenant.objects.filter(level="township").values_list("code", flat=True))
    units = list(Tenant.objects.exclude(level="province"))
    items = list(BasicItem.objects.order_by("code").values_list("code", flat=True))
    guides = list(Implementation.objects.select_related("tenant").order_by("?")[:SAMPLES])
    queries = [q for q, _ in QUERIES] + [q for q, _ in HOTLINE_QUERIES]
    searches = [rng.choice(queries) for _ in range(SAMPLES)]
    cases = {
        "routing": [
            (rng.choice(items[:200] + items), rng.choice(townships)) for _ in range(SAMPLES)
        ],
        "search": searches,
        "search page": searches,
        "guide": guides,
        "portal home": [None] * SAMPLES,
        "unit home": [rng.choice(units) for _ in range(SAMPLES)],
    }
    client = Client()
    base = settings.BASE_DOMAIN

    def own_words_only(query):
        # The baseline: the same ranking with the citizen's words alone (no expansion).
        weighted = [(w, 1.0) for w in search.words(query)]
        if weighted:
            list(search._ranked(BasicItem.objects.all(), query, weighted)[:20])

    def path_of(kind, case):
        if kind == "routing":
            return base, f"/api/v1/route?item={case[0]}&place={case[1]}"
        if kind == "search":
            return base, f"/api/v1/catalog/items?q={quote(case)}"
        if kind == "search page":
            return base, f"/services/?q={quote(case)}"
        if kind == "guide":
            return f"{case.tenant.subdomain}.{base}", f"/services/{case.code}"
        if kind == "unit home":
            return f"{case.subdomain}.{base}", "/"
        return base, "/"

    def in_process(kind, case):
        if kind == "routing":
            route(case[0], place=case[1])
        elif kind == "search":
            list(search.search_items(case)[:20])
        elif kind == "search, own words only (baseline)":
            own_words_only(case)
        else:
            host, path = path_of(kind, case)
            response = client.get(path, HTTP_HOST=host)
            assert response.status_code == 200, (path, response.status_code)

    in_process_cases = {**cases, "search, own words only (baseline)": searches}
    results: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for round_ in range(ROUNDS):
        for kind, kind_cases in in_process_cases.items():
            in_process(kind, kind_cases[0])
            samples = []
            for case in kind_cases:
                started = time.perf_counter()
                in_process(kind, case)
                samples.append(time.perf_counter() - started)
            results.setdefault((kind, "in-process"), []).append(percentiles(samples))

        # A free port: two benchmarks on one machine never measure each other's server.
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        server = start_gunicorn(os.environ.copy(), port, "--timeout", "300")
        try:
            # A worker's first search loads jieba, the thesaurus and the vocabulary: seconds, and
            # more on a shared machine.
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
            for kind, kind_cases in cases.items():
                for case in kind_cases[:20]:  # warm both workers
                    host, path = path_of(kind, case)
                    connection.request("GET", path, headers={"Host": host})
                    connection.getresponse().read()
                samples = []
                for case in kind_cases:
                    host, path = path_of(kind, case)
                    started = time.perf_counter()
                    connection.request("GET", path, headers={"Host": host})
                    response = connection.getresponse()
                    response.read()
                    samples.append(time.perf_counter() - started)
                    assert response.status in (200, 404), (path, response.status)
                results.setdefault((kind, "HTTP"), []).append(percentiles(samples))
        finally:
            server.terminate()
            server.wait(timeout=30)
        print(
            f"round {round_ + 1} of {ROUNDS}, p95 ms: "
            + ", ".join(f"{kind} ({how}) {r[-1][1]:.1f}" for (kind, how), r in results.items()),
            flush=True,
        )

    targets = {
        "routing": 10,
        "search": 50,
        "search, own words only (baseline)": 50,
        "search page": 50,
        "guide": 30,
        "portal home": 30,
        "unit home": 30,
    }
    print(f"{'figure':44} {'p50 ms':>8} {'p95 ms':>8} {'p95 spread':>14}   target p95")
    for (kind, how), rounds in results.items():
        p50 = statistics.median(r[0] for r in rounds)
        p95s = [r[1] for r in rounds]
        spread = f"{min(p95s):.1f}–{max(p95s):.1f}"
        print(
            f"{kind + ' (' + how + ')':44} {p50:8.2f} {statistics.median(p95s):8.2f} "
            f"{spread:>14}   ≤ {targets[kind]} ms"
        )


if __name__ == "__main__":
    main()
