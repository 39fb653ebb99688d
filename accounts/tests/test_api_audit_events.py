"""GET /api/audit-events/ (admin only)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.audit import record_event
from accounts.models import AuditEvent

URL = "/api/audit-events/"


@pytest.fixture
def events(world):
    old = record_event(actor=world.manager_a, action="stock.adjust", target="stock:1", data={"delta": -2},
                       ip="10.0.0.1")
    AuditEvent.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=10))
    middle = record_event(actor=world.staff_a, action="user.profile_update", target=world.staff_a)
    newest = record_event(actor=world.manager_a, action="user.approve", target=world.viewer)
    return old, middle, newest


def test_admin_reads_events_newest_first(world, make_client, events):
    old, middle, newest = events
    response = make_client(world.admin).get(URL)
    assert response.status_code == 200
    assert [row["id"] for row in response.data["results"]] == [newest.pk, middle.pk, old.pk]
    row = response.data["results"][2]
    assert row == {"id": old.pk, "actor": world.manager_a.pk, "action": "stock.adjust", "target": "stock:1",
                   "data": {"delta": -2}, "ip": "10.0.0.1", "created_at": row["created_at"]}


@pytest.mark.parametrize("who", ["manager_a", "staff_a", "viewer"])
def test_only_admins_read_the_audit_trail(world, make_client, events, who):
    response = make_client(getattr(world, who)).get(URL)
    assert response.status_code == 403
    assert response.data["code"] == "permission_denied"


def test_audit_events_filter_by_actor_action_and_dates(world, make_client, events):
    old, middle, newest = events
    client = make_client(world.admin)

    def ids(query):
        response = client.get(f"{URL}?{query}")
        assert response.status_code == 200
        return [row["id"] for row in response.data["results"]]

    assert ids(f"actor={world.manager_a.pk}") == [newest.pk, old.pk]
    assert ids("action=user.approve") == [newest.pk]
    today = timezone.localdate()
    assert ids(f"date_from={today.isoformat()}") == [newest.pk, middle.pk]
    assert ids(f"date_to={(today - timedelta(days=5)).isoformat()}") == [old.pk]


@pytest.mark.parametrize("query", ["date_from=yesterday", "date_to=2024-13-01", "actor=abc", f"actor={10**30}"])
def test_invalid_audit_filters_are_400(world, make_client, query):
    assert make_client(world.admin).get(f"{URL}?{query}").status_code == 400


def test_audit_events_are_read_only_over_the_api(world, make_client, events):
    assert make_client(world.admin).post(URL, {"action": "x"}, format="json").status_code == 405
