"""Fail-open defaults: a server started without environment variables is not in debug mode and no key
committed to the repository signs anything."""

import os
import subprocess
import sys
from pathlib import Path

from inventory_project.settings import dev_secret_key

BASE_DIR = Path(__file__).resolve().parents[2]
# The key that used to be committed to settings.py and signed sessions and JWTs when SECRET_KEY was unset.
OLD_COMMITTED_KEY = "dev-only-insecure-secret-key-change-me-in-production-0123456789"

SHOW = ("from django.conf import settings; "
        "print(settings.DEBUG); print(settings.SECRET_KEY); print(settings.SIMPLE_JWT['SIGNING_KEY'])")


def load_settings(**env):
    """Import the settings in a fresh interpreter whose environment holds only `env` (and PATH)."""
    environment = {"PATH": os.environ.get("PATH", ""), "DJANGO_SETTINGS_MODULE": "inventory_project.settings", **env}
    return subprocess.run([sys.executable, "-c", SHOW], cwd=BASE_DIR, env=environment, capture_output=True,
                          text=True, timeout=120)


def test_with_an_empty_environment_the_server_refuses_to_start_without_a_secret_key():
    result = load_settings()
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY must be set" in result.stderr


def test_debug_is_off_unless_set():
    result = load_settings(SECRET_KEY="k" * 60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "False"


def test_in_debug_without_a_secret_key_a_generated_per_checkout_key_signs_everything():
    first, second = load_settings(DEBUG="true"), load_settings(DEBUG="true")
    assert first.returncode == 0, first.stderr
    debug, key, signing_key = first.stdout.splitlines()
    assert debug == "True"
    assert key != OLD_COMMITTED_KEY and len(key) >= 50
    assert signing_key == key
    assert second.stdout == first.stdout  # stable across runs: sessions and tokens survive a restart
    assert (BASE_DIR / ".secret_key").read_text().strip() == key
    ignored = subprocess.run(["git", "check-ignore", "-q", ".secret_key"], cwd=BASE_DIR, timeout=30)
    assert ignored.returncode == 0, ".secret_key must be git-ignored"


def test_no_committed_key_is_left_in_the_settings():
    assert OLD_COMMITTED_KEY not in (BASE_DIR / "inventory_project" / "settings.py").read_text()


def test_the_development_key_is_generated_once_private_and_reused(tmp_path):
    path = tmp_path / ".secret_key"
    key = dev_secret_key(path)
    assert len(key) >= 50
    assert path.stat().st_mode & 0o777 == 0o600
    assert dev_secret_key(path) == key
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind
    assert dev_secret_key(tmp_path / "other") != key


def test_the_proxy_https_header_is_trusted_only_when_configured():
    show = ("from django.conf import settings; "
            "print(getattr(settings, 'SECURE_PROXY_SSL_HEADER', None))")
    base = {"PATH": os.environ.get("PATH", ""), "DJANGO_SETTINGS_MODULE": "inventory_project.settings",
            "SECRET_KEY": "k" * 60}
    outputs = [subprocess.run([sys.executable, "-c", show], cwd=BASE_DIR, env={**base, **extra}, capture_output=True,
                              text=True, timeout=120).stdout.strip()
               for extra in ({}, {"SECURE_PROXY_SSL_HEADER": "true"})]
    assert outputs == ["None", "('HTTP_X_FORWARDED_PROTO', 'https')"]


def _manage(*args, **env):
    environment = {"PATH": os.environ.get("PATH", ""), **env}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=environment, capture_output=True,
                          text=True, timeout=120)


def test_manage_py_in_an_unconfigured_checkout_runs_as_development():
    result = _manage("shell", "-c", "from django.conf import settings; print(settings.DEBUG)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "True"


def test_manage_py_leaves_a_configured_environment_alone():
    configured = _manage("shell", "-c", "from django.conf import settings; print(settings.DEBUG)",
                         SECRET_KEY="k" * 60, ALLOWED_HOSTS="example.com")
    assert configured.returncode == 0, configured.stderr
    assert configured.stdout.strip().splitlines()[-1] == "False"
    refused = _manage("check", DEBUG="false")
    assert refused.returncode != 0
    assert "SECRET_KEY must be set" in refused.stderr


def test_the_wsgi_entry_point_never_defaults_to_debug():
    result = subprocess.run([sys.executable, "-c", "import inventory_project.wsgi"], cwd=BASE_DIR,
                            env={"PATH": os.environ.get("PATH", "")}, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr
