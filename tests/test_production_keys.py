"""Production (the default) refuses to start without its keys (issue 8, item 4): the development
values are public in the repository."""

import os
import subprocess
import sys

import pytest
from django.conf import settings

KEYS = {
    "SECRET_KEY": "production-secret-key-for-the-test-0123456789",
    "IDENTITY_KEY": "production-identity-key-for-the-test",
    "AUDIT_KEY": "production-audit-key-for-the-test",
}


def start(**environment) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in KEYS and k != "PLATFORM_ENV"}
    env.update(environment)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=settings.BASE_DIR,
        env={**env, "DJANGO_SETTINGS_MODULE": "govplatform.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("missing", list(KEYS))
def test_production_refuses_to_start_without_a_key(missing):
    keys = {name: value for name, value in KEYS.items() if name != missing}
    for environment in ({}, {"PLATFORM_ENV": "production"}):
        result = start(**keys, **environment)
        assert result.returncode != 0
        assert f"{missing} is not set" in result.stderr


def test_production_starts_with_every_key_and_development_without():
    assert start(**KEYS).returncode == 0, start(**KEYS).stderr
    assert start(PLATFORM_ENV="development").returncode == 0


def test_keys_must_differ_and_the_environment_be_known():
    same = start(**{**KEYS, "AUDIT_KEY": KEYS["IDENTITY_KEY"]})
    assert "must differ" in same.stderr
    assert "PLATFORM_ENV must be" in start(**KEYS, PLATFORM_ENV="prod").stderr


@pytest.mark.parametrize("name", list(KEYS))
def test_production_refuses_a_public_development_key(name):
    # Any of the three public development values, under any name (copied from a .env file).
    for public in (
        "django-insecure-development-key-set-SECRET_KEY-in-production",
        "insecure-development-identity-key",
        "insecure-development-audit-key",
    ):
        result = start(**{**KEYS, name: public})
        assert result.returncode != 0
        assert f"{name} is a public development key" in result.stderr


@pytest.mark.parametrize("name", list(KEYS))
def test_production_refuses_a_short_key(name):
    for short in ("x", "k" * 31):
        result = start(**{**KEYS, name: short})
        assert result.returncode != 0
        assert f"{name} is shorter than 32 characters" in result.stderr
    assert start(**{**KEYS, name: "k" * 32}).returncode == 0
