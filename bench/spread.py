"""Requests spread over every unit vs requests to one unit, in-process: `python -m bench.spread`.

The same comparison as bench/load.py without HTTP: one thread sends the tenant API's department
list through Django's test client (the platform's middleware, one database connection), so the
load generator and gunicorn don't share the two cores with PostgreSQL and the figure is steadier.
Interleaved repetitions after a warm-up; prints per-request times and the ratio of requests per
second (spread ÷ one unit). Runs against DATABASE_URL's database as it is (units provisioned);
`python -m bench` runs it on its own database.
"""

import json
import os
import subprocess
import sys

from bench.common import ROOT

_SCRIPT = """
import json, os, random, statistics, time
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govplatform.settings")
django.setup()
from django.conf import settings
from django.test import Client
from tenants.models import Tenant

units = list(Tenant.objects.filter(status="active").values_list("subdomain", flat=True))
random.Random(41).shuffle(units)
client = Client()

def per_request_ms(hosts, n):
    started = time.perf_counter()
    for i in range(n):
        response = client.get(
            "/api/v1/departments", HTTP_HOST=f"{hosts[i %% len(hosts)]}.{settings.BASE_DOMAIN}"
        )
        assert response.status_code == 200, response.status_code
    return (time.perf_counter() - started) / n * 1000

one = units[:1]
per_request_ms(one, 300)
cold = per_request_ms(one, 1000) / per_request_ms(units, 1000)
per_request_ms(units, 2 * len(units))
one_ms, spread_ms = [], []
for repeat in range(%(repeats)d):
    runs = [(one, one_ms), (units, spread_ms)]
    if repeat %% 2:
        runs.reverse()
    for hosts, times in runs:
        times.append(per_request_ms(hosts, 2000))
ratios = [o / s for o, s in zip(one_ms, spread_ms)]
print(json.dumps({
    "one_unit_ms": statistics.median(one_ms),
    "spread_ms": statistics.median(spread_ms),
    "ratio": {"median": statistics.median(ratios), "min": min(ratios), "max": max(ratios)},
    "cold_ratio": cold,
}))
"""


def measure(env: dict, repeats: int = 7, **settings) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", _SCRIPT % {"repeats": repeats}],
        cwd=ROOT,
        env={**env, "CONN_MAX_AGE": "600", **settings},
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


if __name__ == "__main__":
    env = dict(os.environ)
    for name, settings in (
        ("platform", {}),
        ("schema bound 50 (before)", {"TENANT_SCHEMAS_PER_CONNECTION": "50"}),
    ):
        print(name, json.dumps(measure(env, **settings)), flush=True)
