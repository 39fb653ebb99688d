"""Test-run environment, loaded by pytest.ini (`-p core.pytest_plugin`) before Django's settings are read.

The settings are production-safe by default (DEBUG off, SECRET_KEY required, HTTPS redirects); the test
suite runs the development configuration, as `scripts/dev.py test` does, unless the caller chose one.
"""

import os

import pytest

# Imported by pytest before pytest-django loads the settings, so this is what they read.
os.environ.setdefault("DEBUG", "true")

LOCAL_CACHE = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "tests"}}


@pytest.fixture(autouse=True, scope="session")
def _local_memory_cache():
    """In-process tests count throttles in local memory: tests without database access clear the cache
    too, and pinned query counts stay those of the code under test. The shared caches themselves are
    tested explicitly (core/tests/test_security_throttles.py, test_gunicorn.py)."""
    from django.test.utils import override_settings

    with override_settings(CACHES=LOCAL_CACHE):
        yield
