"""A flood of wrong sign-ins against gunicorn: `python -m bench.signin_flood`.

Issue 8 saw 120 wrong sign-ins push `/healthz` to 3.9 s on 2 sync workers. Here 120 concurrent
`POST /api/v1/auth/token` with wrong passwords (each a different unknown name, so each costs an
Argon2 hash and none is refused by a lock-out) go to gunicorn on this machine while a probe asks
`/healthz` every 100 ms. Each server configuration runs twice: with the per-address rate limits
(the flood comes from one address) and without them (settings `bench.flood_settings`: as if it
came from many addresses). Its own database (`<DATABASE_URL's database>_signinbench`); with
CACHE_URL set the counters go to that Redis database, which is emptied between runs.
`python -m bench.signin_flood gthread` runs only the server configurations whose name has "gthread".
"""

import http.client
import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import redis

from bench.common import ROOT, percentiles, scratch_database

PORT = 8897
BURST = 120
HOST = "gov.localhost"
SERVERS = {
    "sync, 2 workers (as before)": ["--workers", "2"],
    "gthread, 2 workers x 8 threads (./dev start)": [
        "--worker-class",
        "gthread",
        "--workers",
        "2",
        "--threads",
        "8",
    ],
}


def _start(env: dict, args: list[str]) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "govplatform.wsgi", "--preload"]
        + ["--bind", f"127.0.0.1:{PORT}", "--log-level", "warning"]
        + ["--control-socket", f"/tmp/gunicorn-bench-{PORT}.ctl", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if _get("/healthz")[0] == 200:
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("gunicorn did not start")


def _get(path: str) -> tuple[int, float]:
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
    connection.request("GET", path, headers={"Host": HOST})
    status = connection.getresponse().status
    connection.close()
    return status, time.perf_counter() - started


def _wrong_sign_in(n: int) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=120)
    body = json.dumps({"username": f"1370000{n:04d}", "password": "wrong"})
    connection.request(
        "POST",
        "/api/v1/auth/token",
        body=body,
        headers={"Host": HOST, "Content-Type": "application/json"},
    )
    status = connection.getresponse().status
    connection.close()
    return status


def flood() -> dict:
    probes: list[float] = []
    done = threading.Event()

    def probe():
        while not done.is_set():
            started = time.perf_counter()
            try:
                probes.append(_get("/healthz")[1])
            except OSError:  # timed out (60 s): counted as such
                probes.append(time.perf_counter() - started)
            time.sleep(0.1)

    prober = threading.Thread(target=probe)
    prober.start()
    started = time.perf_counter()
    with ThreadPoolExecutor(BURST) as pool:
        statuses = list(pool.map(_wrong_sign_in, range(BURST)))
    elapsed = time.perf_counter() - started
    done.set()
    prober.join()
    p50, p95 = percentiles(probes)
    return {
        "burst_s": elapsed,
        "statuses": {s: statuses.count(s) for s in sorted(set(statuses))},
        "healthz_p50_ms": p50,
        "healthz_p95_ms": p95,
        "healthz_max_ms": max(probes) * 1000,
        "probes": len(probes),
    }


def main() -> None:
    only = sys.argv[1] if len(sys.argv) > 1 else ""
    with scratch_database("signinbench") as url:
        env = {**os.environ, "DATABASE_URL": url}
        subprocess.run(
            [sys.executable, "manage.py", "migrate_tenants"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        cache = os.environ.get("CACHE_URL") or "the database"
        print(
            f"{BURST} concurrent wrong sign-ins, /healthz probed every 100 ms, counters in {cache}"
        )
        for name, args in SERVERS.items():
            for limits, settings_module in (
                ("rate limits on", "govplatform.settings"),
                ("rate limits off", "bench.flood_settings"),
            ):
                if only and only not in name:
                    continue
                with psycopg.connect(url, autocommit=True) as connection:  # fresh counters
                    connection.execute("TRUNCATE platform_cache, axes_accessattempt CASCADE")
                if os.environ.get("CACHE_URL"):
                    redis.Redis.from_url(os.environ["CACHE_URL"]).flushdb()
                server = _start({**env, "DJANGO_SETTINGS_MODULE": settings_module}, args)
                try:
                    _get("/healthz")
                    result = flood()
                finally:
                    server.terminate()
                    server.wait()
                print(
                    f"{name}, {limits}: burst {result['burst_s']:.1f} s {result['statuses']}; "
                    f"/healthz p50 {result['healthz_p50_ms']:.0f} ms, "
                    f"p95 {result['healthz_p95_ms']:.0f} ms, max {result['healthz_max_ms']:.0f} ms "
                    f"({result['probes']} probes)"
                )


if __name__ == "__main__":
    main()
