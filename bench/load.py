"""HTTP load against gunicorn on this machine: the same request to one tenant, then spread over
every tenant's subdomain; the largest PostgreSQL backend's private memory after each run."""

import http.client
import json
import os
import random
import threading
import time
from pathlib import Path

import psycopg

from bench.common import start_gunicorn

ROOT = Path(__file__).resolve().parents[1]
PORT = 8899
BASE_DOMAIN = os.environ.get("PLATFORM_BASE_DOMAIN", "gov.localhost")
THREADS = 8


def _load(hosts: list[str], total: int) -> float:
    """Send `total` GETs of a tenant API list, cycling over hosts, from THREADS keep-alive clients."""
    per_thread = total // THREADS
    errors: list[str] = []

    def client(offset: int):
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        for i in range(per_thread):
            host = hosts[(offset + i * THREADS) % len(hosts)]
            conn.request("GET", "/api/v1/departments", headers={"Host": f"{host}.{BASE_DOMAIN}"})
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                errors.append(f"{host}: {response.status}")
        conn.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(THREADS)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} failed requests, e.g. {errors[:3]}")
    return per_thread * THREADS / elapsed


def _max_backend_private_mb(database_url: str) -> float:
    """The largest private (anonymous) memory of this database's client backends, from /proc."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        pids = [
            row[0]
            for row in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
            )
        ]
    largest = 0.0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("RssAnon:"):
                largest = max(largest, int(line.split()[1]) / 1024)
    return largest


def _serve(env: dict, schemas_per_connection: str):
    server_env = {
        **env,
        "TENANT_SCHEMAS_PER_CONNECTION": schemas_per_connection,
        "CONN_MAX_AGE": "600",
    }
    return start_gunicorn(server_env, PORT)


def request_benchmark(env: dict, database_url: str, total: int) -> dict:
    with psycopg.connect(database_url) as conn:
        subdomains = [
            r[0]
            for r in conn.execute("SELECT subdomain FROM tenants_tenant WHERE status = 'active'")
        ]
    random.Random(41).shuffle(subdomains)
    results = {}
    server = _serve(env, "50")
    try:
        _load(subdomains[:1], 200)  # warm up: imports, host map, connections
        results["rps_one_tenant"] = _load(subdomains[:1], total)
        results["rps_all_tenants"] = _load(subdomains, total)
        results["max_backend_rss_anon_mb"] = _max_backend_private_mb(database_url)
    finally:
        server.terminate()
        server.wait(timeout=30)
    server = _serve(env, "1000000")
    try:
        _load(subdomains, total)
        results["max_backend_rss_anon_mb_unbounded"] = _max_backend_private_mb(database_url)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return results


if __name__ == "__main__":
    print(json.dumps({"usage": "run `python -m bench`"}))
