"""SPEC §8: a body key the endpoint does not accept is a 400 naming it, on every write endpoint.

Every write endpoint of the permission matrix (which itself must list every endpoint of the URL
configuration) is called by a caller allowed to use it, with a valid body plus one key it must refuse:
an unknown key, or a key the resource shows but never takes. The answer must be a 400 naming the key,
and nothing may change (no audit event: every state change writes one).
"""

import pytest

from accounts.models import AuditEvent

from .matrix import CALLERS, MATRIX, Scene, prepare, send

UNKNOWN = "surely_not_a_field"
READ_ONLY = "created_at"  # shown by every resource, accepted by none
WRITES = sorted((method, pattern) for method, pattern in MATRIX if method in ("POST", "PUT", "PATCH"))


def _allowed_caller(case) -> str:
    return next(caller for caller in CALLERS if 200 <= case.expected()[caller] < 300)


def test_there_are_write_endpoints_to_check():
    assert len(WRITES) >= 20, WRITES


@pytest.mark.parametrize("key", [UNKNOWN, READ_ONLY])
@pytest.mark.parametrize(("method", "pattern"), WRITES, ids=[f"{m} {p}" for m, p in WRITES])
def test_an_unknown_or_read_only_key_is_a_400_naming_it(world, method, pattern, key):
    case = MATRIX[(method, pattern)]
    scene = Scene(world)
    caller = _allowed_caller(case)
    user = scene.callers[caller]
    path, body = prepare(case, scene, pattern, user)
    events = AuditEvent.objects.count()
    response = send(method, path, {**(body or {}), key: "2026-01-01T00:00:00Z"}, user)
    assert response.status_code == 400, (method, pattern, caller, response.status_code, response.content)
    assert isinstance(response.data, dict) and key in response.data, response.data
    assert AuditEvent.objects.count() == events
