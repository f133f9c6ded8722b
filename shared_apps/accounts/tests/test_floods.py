"""Issue 8 item 10: sign-up does not tell which numbers have accounts; sign-up, sign-in, tokens and
search are rate-limited per address, in Redis where it is configured and the database otherwise."""

import json
import socket

import pytest
from django.conf import settings
from django.test import Client

from shared_apps.accounts import actions
from tests.helpers import host_of, make_id_number

PASSWORD = "正确的马电池订书钉"
REDIS_URL = "redis://127.0.0.1:6379/13"


@pytest.fixture
def registered(db):
    return {
        "id_number": make_id_number(sequence="611"),
        "phone": "13500000061",
        "user": actions.register_citizen(
            real_name="周七",
            id_number=make_id_number(sequence="611"),
            phone="13500000061",
            password=PASSWORD,
        ),
    }


def sign_up(client, **fields):
    body = {
        "real_name": "吴八",
        "id_number": make_id_number(sequence="622"),
        "phone": "13500000062",
        "password": PASSWORD,
        **fields,
    }
    return client.post("/accounts/sign-up", body, HTTP_HOST=settings.BASE_DOMAIN)


def test_sign_up_answers_the_same_for_a_taken_phone_or_id_number(client, registered):
    taken_phone = sign_up(client, phone=registered["phone"])
    taken_id = sign_up(client, id_number=registered["id_number"])
    both = sign_up(client, phone=registered["phone"], id_number=registered["id_number"])
    assert taken_phone.status_code == taken_id.status_code == both.status_code == 200
    pages = [_errors(r.content.decode()) for r in (taken_phone, taken_id, both)]
    assert pages[0] == pages[1] == pages[2]
    assert any("可能已存在" in message for message in pages[0])


def _errors(page: str) -> list[str]:
    """The error messages a sign-up page shows (the form echoes the typed values, which differ)."""
    import re

    return re.findall(r'role="alert">(?:<p>)?([^<]*)', page)


def test_racing_sign_ups_for_one_phone_get_the_same_answer(registered, monkeypatch):
    """Two sign-ups with the same phone at once: the loser's unique-constraint error becomes the
    same answer, not a 500. (The race is forced: the existence check sees nothing.)"""
    from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

    from shared_apps.accounts.models import User

    real_filter = User.objects.filter

    class Blind:
        def exists(self):
            return False

    monkeypatch.setattr(
        User.objects, "filter", lambda *a, **k: Blind() if a and not k else real_filter(*a, **k)
    )
    with pytest.raises(ValidationError) as caught:
        actions.register_citizen(
            real_name="郑九",
            id_number=make_id_number(sequence="633"),
            phone=registered["phone"],
            password=PASSWORD,
        )
    assert "已存在" in " ".join(caught.value.message_dict[NON_FIELD_ERRORS])


def test_sign_up_is_rate_limited_per_address(client, db, settings):
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        "sign-up": ("2/h", "POST", ["accounts:sign_up"]),
    }
    for _ in range(2):
        assert sign_up(client, id_number="bad").status_code == 200
    assert sign_up(client, id_number="bad").status_code == 429
    assert sign_up(Client(REMOTE_ADDR="10.0.0.9"), id_number="bad").status_code == 200


def test_search_is_rate_limited_per_address(client, tenant, settings):
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        "search": ("2/h", "GET", ["portal-api:search_catalog", "tenant-api:list_services"]),
    }
    portal = {"HTTP_HOST": settings.BASE_DOMAIN}
    assert client.get("/api/v1/catalog/items?q=身份证", **portal).status_code == 200
    assert client.get("/api/v1/services?q=身份证", HTTP_HOST=host_of(tenant)).status_code == 200
    # One count per address across the portal's and every unit's search.
    limited = client.get("/api/v1/catalog/items?q=户口", **portal)
    assert limited.status_code == 429
    assert json.loads(limited.content)["detail"]


def _redis_answers() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.fixture
def redis_cache(settings):
    import os

    import redis

    if not _redis_answers():
        if os.environ.get("CI"):
            pytest.fail("CI runs Redis; the Redis-backed rate limit must be tested")
        pytest.skip("no Redis on 127.0.0.1:6379")
    connection = redis.Redis.from_url(REDIS_URL)
    connection.flushdb()
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
    yield connection
    connection.flushdb()


def test_rate_limits_count_in_redis_when_configured(client, db, settings, redis_cache):
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        "sign-in": ("2/h", "POST", ["accounts:sign_in"]),
    }
    body = {"username": "13500000099", "password": "x"}
    for _ in range(2):
        response = client.post("/accounts/sign-in", body, HTTP_HOST=settings.BASE_DOMAIN)
        assert response.status_code == 200
    assert client.post("/accounts/sign-in", body, HTTP_HOST=settings.BASE_DOMAIN).status_code == 429
    assert redis_cache.dbsize() >= 1  # the counters live in Redis, not in the database


def test_database_cache_counts_racing_increments(db):
    """The fallback cache's increment holds the row lock: 4 threads x 25 increments count 100.
    (Threads with their own connections, committing, as gunicorn's would.)"""
    import uuid
    from concurrent.futures import ThreadPoolExecutor

    from django.core.cache import caches
    from django.db import connection

    cache, key = caches["default"], f"race-{uuid.uuid4()}"

    def in_thread(work):
        try:
            return work()
        finally:
            connection.close()

    def bump():
        for _ in range(25):
            cache.incr(key)

    with ThreadPoolExecutor(4) as pool:
        pool.submit(in_thread, lambda: cache.set(key, 0, 60)).result()
        for future in [pool.submit(in_thread, bump) for _ in range(4)]:
            future.result()
        try:
            assert pool.submit(in_thread, lambda: cache.get(key)).result() == 100
        finally:
            pool.submit(in_thread, lambda: cache.delete(key)).result()


def test_password_check_gate_sheds_beyond_its_queue():
    import threading

    from shared_apps.accounts.throttling import PasswordCheckGate

    gate = PasswordCheckGate(at_once=1, waiting=1)
    inside, release, waited = threading.Event(), threading.Event(), []

    def hold():
        with gate() as admitted:
            assert admitted
            inside.set()
            release.wait(10)

    def wait_turn():
        with gate() as admitted:
            waited.append(admitted)

    holder = threading.Thread(target=hold)
    holder.start()
    inside.wait(10)
    waiter = threading.Thread(target=wait_turn)
    waiter.start()
    while gate._admitted._value:  # the waiter has taken the last place in the queue
        threading.Event().wait(0.01)
    with gate() as admitted:
        assert admitted is False  # answered at once, not queued
    release.set()
    holder.join(10)
    waiter.join(10)
    assert waited == [True]
    with gate() as admitted:
        assert admitted


def test_a_full_gate_answers_503_and_counts_no_failure(client, registered, monkeypatch):
    from axes.models import AccessAttempt

    from shared_apps.accounts import throttling

    full = throttling.PasswordCheckGate(at_once=1, waiting=0)
    full._admitted.acquire()
    monkeypatch.setattr(throttling, "password_checks", full)
    page = client.post(
        "/accounts/sign-in",
        {"username": registered["phone"], "password": PASSWORD},
        HTTP_HOST=settings.BASE_DOMAIN,
    )
    assert page.status_code == 503 and page["Retry-After"] == "1"
    api = client.post(
        "/api/v1/auth/token",
        data=json.dumps({"username": registered["phone"], "password": PASSWORD}),
        content_type="application/json",
        HTTP_HOST=settings.BASE_DOMAIN,
    )
    assert api.status_code == 503 and api.json()["detail"]
    assert not AccessAttempt.objects.exists()


def test_a_cache_outage_does_not_stop_sign_in(client, registered, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
        }
    }
    body = {"username": registered["phone"], "password": PASSWORD}
    wrong = client.post(
        "/accounts/sign-in", {**body, "password": "x"}, HTTP_HOST=settings.BASE_DOMAIN
    )
    assert wrong.status_code == 200
    assert client.post("/accounts/sign-in", body, HTTP_HOST=settings.BASE_DOMAIN).status_code == 302


def test_full_width_sign_up_is_stored_as_sign_in_reads_it(client, db):
    full_width = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
    number = next(
        n for n in (make_id_number(sequence=f"{i:03d}") for i in range(700, 800)) if n.endswith("X")
    )
    first = sign_up(client, id_number=number.translate(full_width), phone="１３５００００００６４")
    assert first.status_code == 302
    client.logout()
    again = sign_up(Client(), id_number=number, phone="13500000064")  # the ASCII forms: taken
    assert again.status_code == 200 and "可能已存在" in again.content.decode()
    for name in (number, "13500000064"):
        signed_in = client.post(
            "/accounts/sign-in",
            {"username": name, "password": PASSWORD},
            HTTP_HOST=settings.BASE_DOMAIN,
        )
        assert signed_in.status_code == 302, name
        client.logout()
