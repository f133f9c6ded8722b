"""HTTP load against gunicorn on this machine: the same request to one tenant, and the same number
spread over every tenant's subdomain, in interleaved repetitions after a warm-up; then the
PostgreSQL backends' private memory. Run twice: with the platform's settings, and with the
schema bound of 50 the platform had before it was derived from a measurement. `python -m bench.load` runs it alone against DATABASE_URL's database as it is (with
units provisioned, e.g. after `./dev start`)."""

import http.client
import json
import os
import random
import statistics
import threading
import time
from pathlib import Path

import psycopg

from bench.common import start_gunicorn

PORT = 8899
BASE_DOMAIN = os.environ.get("PLATFORM_BASE_DOMAIN", "gov.localhost")
CLIENTS = 8
# The server as `./dev start` runs it: 2 processes of 8 threads, keep-alive connections.
SERVER_OPTIONS = ("--worker-class", "gthread", "--threads", "8")
CONNECTIONS = 2 * 8  # one per server thread
# A backend plans against a schema from its catalog cache once it has served it: the steady state
# is reached once each of the CONNECTIONS has served (nearly) every unit.
WARM_UP_PASSES = CONNECTIONS
SERVER_DESCRIPTION = "gunicorn, 2 workers × 8 threads (gthread), CONN_MAX_AGE=600"

CONFIGURATIONS = {
    # name: environment of the server
    "platform": {},
    "schema bound 50 (before)": {
        "TENANT_SCHEMAS_PER_CONNECTION": "50",
    },
}


def _load(hosts: list[str], total: int) -> float:
    """Send `total` GETs of a tenant API list, cycling over hosts, from CLIENTS keep-alive
    clients; return requests per second."""
    per_client = total // CLIENTS
    errors: list[str] = []

    def client(offset: int):
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        for i in range(per_client):
            host = hosts[(offset + i * CLIENTS) % len(hosts)]
            conn.request("GET", "/api/v1/departments", headers={"Host": f"{host}.{BASE_DOMAIN}"})
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                errors.append(f"{host}: {response.status}")
        conn.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} failed requests, e.g. {errors[:3]}")
    return per_client * CLIENTS / elapsed


def backend_private_mb(database_url: str) -> list[float]:
    """Private (anonymous) memory of this database's client backends, from /proc, largest first."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        pids = [
            row[0]
            for row in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
            )
        ]
    sizes = []
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("RssAnon:"):
                sizes.append(int(line.split()[1]) / 1024)
    return sorted(sizes, reverse=True)


def _summary(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def _measure(env: dict, database_url: str, subdomains: list[str], total: int, repeats: int):
    server = start_gunicorn({**env, "CONN_MAX_AGE": "600"}, PORT, *SERVER_OPTIONS)
    try:
        one = subdomains[:1]
        _load(one, 400)  # imports, host map, connections
        # Cold: the server's connections have served one unit only.
        cold_one, cold_spread = _load(one, total), _load(subdomains, total)
        # Steady state: every connection (CONNECTIONS of them) has served most units.
        _load(subdomains, WARM_UP_PASSES * len(subdomains))
        one_runs, spread_runs = [], []
        for repeat in range(repeats):
            order = [(one, one_runs), (subdomains, spread_runs)]
            if repeat % 2:
                order.reverse()
            for hosts, runs in order:
                runs.append(_load(hosts, total))
        memory = backend_private_mb(database_url)
    finally:
        server.terminate()
        server.wait(timeout=30)
    ratios = [s / o for s, o in zip(spread_runs, one_runs, strict=True)]
    return {
        "cold_spread_ratio": cold_spread / cold_one,
        "rps_one_tenant": _summary(one_runs),
        "rps_all_tenants": _summary(spread_runs),
        "spread_ratio": _summary(ratios),
        "backends": len(memory),
        "largest_backend_mb": memory[0] if memory else 0.0,
        "backends_total_mb": sum(memory),
    }


def request_benchmark(env: dict, database_url: str, total: int, repeats: int) -> dict:
    with psycopg.connect(database_url) as conn:
        subdomains = [
            r[0]
            for r in conn.execute("SELECT subdomain FROM tenants_tenant WHERE status = 'active'")
        ]
    random.Random(41).shuffle(subdomains)
    results = {
        "server": SERVER_DESCRIPTION,
        "clients": CLIENTS,
        "requests_per_run": total,
        "warm_up": f"{WARM_UP_PASSES} passes over every unit",
        "units": len(subdomains),
    }
    for name, settings in CONFIGURATIONS.items():
        results[name] = _measure({**env, **settings}, database_url, subdomains, total, repeats)
        results[name]["settings"] = settings
        print(name, json.dumps(results[name]), flush=True)
    return results


if __name__ == "__main__":
    url = os.environ["DATABASE_URL"]
    print(json.dumps(request_benchmark(dict(os.environ), url, 3000, 3), indent=2))
