"""`/api/webhooks/` per role: admin all, a manager their own endpoints and warehouses, everyone else 403."""

import pytest

from accounts.models import AuditEvent
from webhooks import services
from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from webhooks.secrets import PREFIX, decrypt, signing_key

URL = "/api/webhooks/"
pytestmark = pytest.mark.django_db


def make_endpoint(owner, url="http://127.0.0.1:9/hook", events=("*",), warehouses=()):
    endpoint, secret = services.create_endpoint(actor=owner, url=url, events=list(events), warehouses=list(warehouses))
    return endpoint


def body(**extra):
    return {"url": "http://127.0.0.1:9/hook", "events": ["stock.changed"], **extra}


# --- create -------------------------------------------------------------------------------------------------

def test_admin_creates_an_endpoint_and_sees_its_secret_once(world, make_client, loopback):
    response = make_client(world.admin).post(URL, body(warehouses=[world.wh_a.pk], description="shop"), format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert set(data) == {"id", "url", "events", "warehouses", "is_active", "description", "created_by", "created_at",
                         "disabled_reason", "secret"}
    assert data["secret"].startswith(PREFIX) and len(signing_key(data["secret"])) == 32
    assert data["warehouses"] == [world.wh_a.pk] and data["created_by"] == world.admin.pk
    assert data["is_active"] is True and data["disabled_reason"] == ""
    endpoint = WebhookEndpoint.objects.get(pk=data["id"])
    assert data["secret"] not in endpoint.secret_encrypted  # encrypted at rest
    assert decrypt(endpoint.secret_encrypted) == data["secret"]
    detail = make_client(world.admin).get(f"{URL}{endpoint.pk}/").json()
    assert "secret" not in detail
    audit = AuditEvent.objects.get(action="webhook.create")
    assert data["secret"] not in str(audit.data)


def test_an_idempotent_replay_of_a_create_never_holds_the_secret(world, make_client, loopback):
    client = make_client(world.manager_a)
    first = client.post(URL, body(), format="json", HTTP_IDEMPOTENCY_KEY="k1")
    replay = client.post(URL, body(), format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert first.status_code == replay.status_code == 201
    assert "secret" in first.json()
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert "secret" not in replay.json() and replay.json()["id"] == first.json()["id"]
    assert WebhookEndpoint.objects.count() == 1
    from core.models import IdempotencyRecord

    assert first.json()["secret"] not in IdempotencyRecord.objects.get(key="k1").response_body


def test_a_manager_may_subscribe_only_to_warehouses_they_manage(world, make_client, loopback):
    client = make_client(world.manager_a)
    assert client.post(URL, body(warehouses=[world.wh_a.pk]), format="json").status_code == 201
    refused = client.post(URL, body(warehouses=[world.wh_a.pk, world.wh_b.pk]), format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    assert WebhookEndpoint.objects.count() == 1


@pytest.mark.parametrize("role", ["staff_a", "viewer"])
def test_staff_and_viewers_have_no_webhooks(world, make_client, loopback, role):
    client = make_client(getattr(world, role))
    endpoint = make_endpoint(world.admin)
    for response in (client.get(URL), client.post(URL, body(), format="json"), client.get(f"{URL}{endpoint.pk}/"),
                     client.post(f"{URL}{endpoint.pk}/ping/", {}, format="json")):
        assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    assert WebhookEndpoint.objects.count() == 1


def test_anonymous_is_401(anon):
    assert anon.get(URL).status_code == 401


@pytest.mark.parametrize("payload, field", [
    ({"url": "http://127.0.0.1:9/hook"}, "events"),
    (body(events=["stock.exploded"]), "events"),
    (body(events=[]), "events"),
    (body(url="not a url"), "url"),
    (body(created_by=1), "created_by"),
    (body(secret="whsec_x"), "secret"),
    (body(warehouses=[999999]), "warehouses"),
])
def test_bad_input_is_a_400_naming_the_field_and_creates_nothing(world, make_client, loopback, payload, field):
    response = make_client(world.admin).post(URL, payload, format="json")
    assert response.status_code == 400 and field in response.json()
    assert WebhookEndpoint.objects.count() == 0


@pytest.mark.parametrize("url", [
    "ftp://example.com/hook",
    "http://example.com/hook",  # http to a host not listed
    "https://127.0.0.1/hook",  # an IP literal on loopback
    "https://10.1.2.3/hook",
    "https://169.254.169.254/latest/meta-data",  # link-local (cloud metadata)
    "https://[::1]/hook",
    "https://224.0.0.1/hook",  # multicast
    "https://240.0.0.1/hook",  # reserved
    "https://localhost/hook",  # a name resolving to 127.0.0.1
    "https://user:pw@example.com/hook",
])
def test_a_url_that_is_not_allowed_is_refused_at_save(world, make_client, url):
    response = make_client(world.admin).post(URL, body(url=url), format="json")
    assert response.status_code == 400, (url, response.content)
    assert response.json()["code"] == "url_not_allowed"
    assert WebhookEndpoint.objects.count() == 0


def test_without_encryption_keys_and_debug_off_no_endpoint_is_created(world, make_client, loopback):
    loopback.DEBUG = False
    loopback.WEBHOOK_ENCRYPTION_KEYS = []
    response = make_client(world.admin).post(URL, body(), format="json")
    assert response.status_code == 503 and response.json()["code"] == "webhooks_not_configured"
    assert WebhookEndpoint.objects.count() == 0


# --- read, change, delete -----------------------------------------------------------------------------------

def test_a_manager_sees_only_their_own_endpoints_and_another_is_404(world, make_client, loopback):
    own = make_endpoint(world.manager_a, warehouses=[world.wh_a])
    other = make_endpoint(world.manager_b)
    admins = make_endpoint(world.admin)
    client = make_client(world.manager_a)
    assert [row["id"] for row in client.get(URL).json()["results"]] == [own.pk]
    for endpoint in (other, admins):
        assert client.get(f"{URL}{endpoint.pk}/").status_code == 404
        assert client.patch(f"{URL}{endpoint.pk}/", {"description": "x"}, format="json").status_code == 404
        assert client.delete(f"{URL}{endpoint.pk}/").status_code == 404
        assert client.post(f"{URL}{endpoint.pk}/rotate-secret/", {}, format="json").status_code == 404
        assert client.post(f"{URL}{endpoint.pk}/ping/", {}, format="json").status_code == 404
        assert client.get(f"{URL}{endpoint.pk}/deliveries/").status_code == 404
    assert {row["id"] for row in make_client(world.admin).get(URL).json()["results"]} == {own.pk, other.pk, admins.pk}


def test_patch_changes_the_filters_and_refuses_a_foreign_warehouse(world, make_client, loopback):
    endpoint = make_endpoint(world.manager_a)
    client = make_client(world.manager_a)
    response = client.patch(f"{URL}{endpoint.pk}/", {"events": ["alert.opened", "alert.opened"],
                                                     "warehouses": [world.wh_a.pk]}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["events"] == ["alert.opened"] and response.json()["warehouses"] == [world.wh_a.pk]
    refused = client.patch(f"{URL}{endpoint.pk}/", {"warehouses": [world.wh_b.pk]}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    assert list(endpoint.warehouses.values_list("pk", flat=True)) == [world.wh_a.pk]
    bad_url = client.patch(f"{URL}{endpoint.pk}/", {"url": "http://example.com/x"}, format="json")
    assert bad_url.status_code == 400 and bad_url.json()["code"] == "url_not_allowed"
    assert client.patch(f"{URL}{endpoint.pk}/", {"secret": "x"}, format="json").status_code == 400
    assert client.put(f"{URL}{endpoint.pk}/", body(), format="json").status_code == 405


def test_deactivating_fails_pending_deliveries_and_reactivating_starts_a_new_period(world, make_client, loopback):
    endpoint = make_endpoint(world.manager_a)
    client = make_client(world.manager_a)
    client.post(f"{URL}{endpoint.pk}/ping/", {}, format="json")
    off = client.patch(f"{URL}{endpoint.pk}/", {"is_active": False}, format="json").json()
    assert off["is_active"] is False and off["disabled_reason"] == "manual"
    assert WebhookDelivery.objects.get().status == "failed"
    refused = client.post(f"{URL}{endpoint.pk}/ping/", {}, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "invalid_state"
    before = WebhookEndpoint.objects.get(pk=endpoint.pk).active_since
    on = client.patch(f"{URL}{endpoint.pk}/", {"is_active": True}, format="json").json()
    assert on["is_active"] is True and on["disabled_reason"] == ""
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).active_since > before


def test_only_an_admin_reactivates_an_endpoint_disabled_for_owner_changed(world, make_client, loopback):
    endpoint = make_endpoint(world.manager_a)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False, disabled_reason="owner_changed")
    refused = make_client(world.manager_a).patch(f"{URL}{endpoint.pk}/", {"is_active": True}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    assert make_client(world.admin).patch(f"{URL}{endpoint.pk}/", {"is_active": True},
                                          format="json").json()["is_active"] is True


def test_delete_removes_the_endpoint_and_its_deliveries(world, make_client, loopback):
    endpoint = make_endpoint(world.manager_a)
    client = make_client(world.manager_a)
    client.post(f"{URL}{endpoint.pk}/ping/", {}, format="json")
    assert client.delete(f"{URL}{endpoint.pk}/").status_code == 204
    assert not WebhookEndpoint.objects.exists() and not WebhookDelivery.objects.exists()
    assert AuditEvent.objects.filter(action="webhook.delete").exists()


# --- rotate, ping, deliveries, redeliver --------------------------------------------------------------------

def test_rotate_secret_answers_the_new_secret_and_keeps_the_old_one_signing(world, make_client, loopback):
    response = make_client(world.admin).post(URL, body(), format="json")
    old, pk = response.json()["secret"], response.json()["id"]
    rotated = make_client(world.admin).post(f"{URL}{pk}/rotate-secret/", {}, format="json")
    assert rotated.status_code == 200 and set(rotated.json()) == {"secret"}
    new = rotated.json()["secret"]
    endpoint = WebhookEndpoint.objects.get(pk=pk)
    assert new != old and decrypt(endpoint.secret_encrypted) == new
    assert [decrypt(p["secret"]) for p in endpoint.previous_secrets] == [old]
    again = make_client(world.admin).post(f"{URL}{pk}/rotate-secret/", {"expire_previous": True}, format="json")
    assert again.status_code == 200
    assert WebhookEndpoint.objects.get(pk=pk).previous_secrets == []
    assert make_client(world.admin).post(f"{URL}{pk}/rotate-secret/", {"now": 1}, format="json").status_code == 400


def test_ping_queues_one_event_to_this_endpoint_alone(world, make_client, loopback):
    endpoint = make_endpoint(world.admin)
    make_endpoint(world.admin)
    response = make_client(world.admin).post(f"{URL}{endpoint.pk}/ping/", {}, format="json")
    assert response.status_code == 202
    assert set(response.json()) == {"id", "type", "created_at"} and response.json()["type"] == "ping"
    event = WebhookEvent.objects.get()
    assert event.pk == response.json()["id"] and event.data == {"webhook": endpoint.pk}
    assert list(WebhookDelivery.objects.values_list("endpoint_id", flat=True)) == [endpoint.pk]


def test_deliveries_list_newest_first_with_a_status_filter_and_redeliver(world, make_client, loopback,
                                                                         django_assert_max_num_queries):
    endpoint = make_endpoint(world.manager_a)
    client = make_client(world.manager_a)
    first = client.post(f"{URL}{endpoint.pk}/ping/", {}, format="json").json()
    client.post(f"{URL}{endpoint.pk}/ping/", {}, format="json")
    WebhookDelivery.objects.filter(event_id=first["id"]).update(status="failed", attempts=14, last_error="HTTP 500",
                                                                 last_status_code=500)
    with django_assert_max_num_queries(8):
        listed = client.get(f"{URL}{endpoint.pk}/deliveries/").json()
    assert listed["count"] == 2 and listed["results"][1]["event"]["id"] == first["id"]
    assert set(listed["results"][0]) == {"id", "event", "status", "attempts", "last_status_code", "last_error",
                                         "next_attempt_at", "delivered_at"}
    failed = client.get(f"{URL}{endpoint.pk}/deliveries/?status=failed").json()["results"]
    assert [row["event"]["id"] for row in failed] == [first["id"]]
    assert client.get(f"{URL}{endpoint.pk}/deliveries/?status=lost").status_code == 400
    again = client.post(f"{URL}{endpoint.pk}/deliveries/{failed[0]['id']}/redeliver/", {}, format="json")
    assert again.status_code == 202, again.content
    assert again.json()["event"]["id"] == first["id"] and again.json()["status"] == "pending"
    assert again.json()["id"] != failed[0]["id"]
    other = make_endpoint(world.manager_b)
    assert client.post(f"{URL}{endpoint.pk}/deliveries/999999/redeliver/", {}, format="json").status_code == 404
    assert make_client(world.manager_b).post(f"{URL}{other.pk}/deliveries/{failed[0]['id']}/redeliver/", {},
                                             format="json").status_code == 404


def test_a_ping_with_an_idempotency_key_is_queued_once(world, make_client, loopback):
    endpoint = make_endpoint(world.admin)
    client = make_client(world.admin)
    first = client.post(f"{URL}{endpoint.pk}/ping/", {}, format="json", HTTP_IDEMPOTENCY_KEY="p1")
    again = client.post(f"{URL}{endpoint.pk}/ping/", {}, format="json", HTTP_IDEMPOTENCY_KEY="p1")
    assert first.status_code == again.status_code == 202 and first.json() == again.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert WebhookEvent.objects.count() == 1 and WebhookDelivery.objects.count() == 1


def test_the_list_costs_a_pinned_number_of_queries_whatever_its_length(world, make_client, loopback,
                                                                     django_assert_max_num_queries):
    client = make_client(world.admin)
    make_endpoint(world.admin, warehouses=[world.wh_a])
    with django_assert_max_num_queries(4) as one:  # the user, the count, the page, its warehouses
        client.get(URL)
    for _ in range(5):
        make_endpoint(world.manager_a, warehouses=[world.wh_a])
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert client.get(URL).json()["count"] == 6
