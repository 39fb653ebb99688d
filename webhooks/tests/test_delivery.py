"""Delivery against a real receiver on loopback: Standard Webhooks signatures checked by the reference
implementation, the same `webhook-id` on every attempt and redelivery, back-off, the last attempt, rotation,
the URL guard at delivery (an IP literal, a name resolving to 127.0.0.1, DNS pinning, a redirect), the scope
asked again before an attempt, leases, auto-disable."""

import json
import socket
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from inventory import services as stock_services
from webhooks import services, signing
from webhooks.delivery import (
    attempt,
    claim_next,
    deliver_all_due,
    disable_if_failing,
    fan_out,
    retry_delay,
)
from webhooks.emails import send_endpoint_disabled_email
from webhooks.figures import webhook_figures
from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from webhooks.tests.receiver import start_receiver

pytestmark = pytest.mark.django_db
T0 = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)  # after the shared world was made


def endpoint_for(owner, url, **kwargs):
    return services.create_endpoint(actor=owner, url=url, events=kwargs.pop("events", ["*"]), **kwargs)


def change_stock(world, warehouse=None, quantity=3):
    return stock_services.assign_stock(actor=world.admin, warehouse=warehouse or world.wh_a, product=world.product,
                                       quantity=quantity)


def verify(secret, received):
    return Webhook(secret).verify(received.body, received.headers)


# --- signatures -------------------------------------------------------------------------------------------

def test_the_signature_matches_the_reference_implementations_test_vector():
    # The vector of the Standard Webhooks reference libraries (and of the `standardwebhooks` package).
    secret, msg_id, timestamp = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330
    body = b'{"test": 2432232314}'
    expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert signing.signature(secret, msg_id=msg_id, timestamp=timestamp, body=body) == expected
    assert Webhook(secret).sign(msg_id, datetime.fromtimestamp(timestamp, tz=UTC), body) == expected
    headers = signing.headers([secret, "whsec_" + "A" * 44], msg_id=msg_id, timestamp=timestamp, body=body)
    assert headers["webhook-signature"].split(" ")[0] == expected
    with time_machine.travel(datetime.fromtimestamp(timestamp, tz=UTC), tick=False):
        assert Webhook(secret).verify(body, headers) == {"test": 2432232314}


def test_a_stock_change_is_delivered_signed_to_a_real_receiver(world, receiver):
    endpoint, secret = endpoint_for(world.admin, receiver.url)
    change_stock(world)
    assert deliver_all_due()["delivered"] == 1
    (received,) = receiver.received
    event = WebhookEvent.objects.get()
    payload = verify(secret, received)  # the reference implementation: signature and timestamp
    assert received.headers["webhook-id"] == event.pk and received.headers["content-type"] == "application/json"
    assert payload["id"] == event.pk and payload["type"] == "stock.changed" and payload["data"] == event.data
    assert set(payload) == {"id", "type", "created_at", "data"}
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 200)
    assert delivery.delivered_at is not None and delivery.leased_until is None
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "B" * 44).verify(received.body, received.headers)
    assert deliver_all_due()["delivered"] == 0 and len(receiver.received) == 1  # once per endpoint


# --- retries --------------------------------------------------------------------------------------------

def test_retry_delays_double_from_the_base_and_stop_at_six_hours(settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 30
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert retry_delay(13) == timedelta(hours=6) and retry_delay(40) == timedelta(hours=6)


def test_back_off_then_failed_after_the_last_attempt_with_one_webhook_id_and_a_redelivery(world, receiver, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 4
    settings.WEBHOOK_RETRY_BASE_SECONDS = 30
    receiver.default_status = 500
    endpoint, secret = endpoint_for(world.admin, receiver.url)
    with time_machine.travel(T0, tick=False) as clock:
        change_stock(world)
        deliver_all_due()
        delivery = WebhookDelivery.objects.get()
        assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 500)
        assert delivery.next_attempt_at == T0 + timedelta(seconds=30)
        moments = [T0]
        for wait in (30, 60, 120):
            clock.shift(wait - 1)
            assert deliver_all_due()["retrying"] + deliver_all_due()["failed"] == 0  # not due yet
            clock.shift(1)
            moments.append(moments[-1] + timedelta(seconds=wait))
            deliver_all_due()
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 4, None)
        assert delivery.last_error == "HTTP 500"
        timestamps = [int(r.headers["webhook-timestamp"]) for r in receiver.received]
        assert timestamps == [int(m.timestamp()) for m in moments]
        for received in receiver.received:
            verify(secret, received)
        receiver.default_status = 204
        services.redeliver(actor=world.admin, endpoint=endpoint, delivery_id=delivery.pk)
        assert deliver_all_due()["delivered"] == 1
    ids = receiver.ids()
    assert len(ids) == 5 and len(set(ids)) == 1 and ids[0] == delivery.event_id
    assert len({r.body for r in receiver.received}) == 1  # the same body every time


def test_a_refused_connection_is_retried(world, loopback):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    endpoint_for(world.admin, f"http://127.0.0.1:{port}/hook")
    change_stock(world)
    assert deliver_all_due()["retrying"] == 1
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending" and "ConnectError" in delivery.last_error
    assert delivery.last_status_code is None


def test_no_answer_within_the_timeout_is_a_failure_and_retried(world, receiver, monkeypatch):
    monkeypatch.setattr("webhooks.delivery.TIMEOUT_SECONDS", 0.3)
    receiver.delay = 1.0
    endpoint_for(world.admin, receiver.url)
    change_stock(world)
    assert deliver_all_due()["retrying"] == 1
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending" and "Timeout" in delivery.last_error and delivery.last_status_code is None


# --- rotation -------------------------------------------------------------------------------------------

def test_rotation_signs_with_two_secrets_for_24_hours_then_one(world, receiver):
    with time_machine.travel(T0, tick=False) as clock:
        endpoint, old = endpoint_for(world.admin, receiver.url)
        new = services.rotate_secret(actor=world.admin, endpoint=endpoint)
        services.ping(actor=world.admin, endpoint=endpoint)
        deliver_all_due()
        first = receiver.received[-1]
        assert len(first.headers["webhook-signature"].split(" ")) == 2
        assert verify(old, first) == verify(new, first)  # a receiver holding either secret accepts it
        clock.shift(timedelta(hours=24) - timedelta(seconds=1))
        services.ping(actor=world.admin, endpoint=endpoint)
        deliver_all_due()
        assert len(receiver.received[-1].headers["webhook-signature"].split(" ")) == 2
        clock.shift(timedelta(seconds=1))
        services.ping(actor=world.admin, endpoint=endpoint)
        deliver_all_due()
        last = receiver.received[-1]
        assert len(last.headers["webhook-signature"].split(" ")) == 1
        verify(new, last)
        with pytest.raises(WebhookVerificationError):
            verify(old, last)


def test_expire_previous_drops_the_old_secret_at_once(world, receiver):
    endpoint, old = endpoint_for(world.admin, receiver.url)
    new = services.rotate_secret(actor=world.admin, endpoint=endpoint, expire_previous=True)
    services.ping(actor=world.admin, endpoint=endpoint)
    deliver_all_due()
    (received,) = receiver.received
    assert json.loads(received.body)["data"] == {"webhook": endpoint.pk}
    verify(new, received)
    with pytest.raises(WebhookVerificationError):
        verify(old, received)


# --- where deliveries may go, checked again at delivery -----------------------------------------------------

def test_an_ip_literal_on_loopback_is_refused_at_delivery_when_the_guard_is_on(world, receiver, settings):
    endpoint_for(world.admin, receiver.url)  # saved while private networks were allowed
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    change_stock(world)
    deliver_all_due()
    delivery = WebhookDelivery.objects.get()
    assert delivery.last_error.startswith("url_not_allowed") and receiver.received == []


def test_a_name_resolving_to_loopback_is_refused_with_the_guard_on_and_pinned_with_it_off(world, receiver, settings):
    port = receiver.server.server_address[1]
    settings.WEBHOOK_ALLOW_HTTP_HOSTS = ["127.0.0.1", "localhost"]
    endpoint, secret = endpoint_for(world.admin, f"http://localhost:{port}/hook")
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    services.ping(actor=world.admin, endpoint=endpoint)
    deliver_all_due()
    assert WebhookDelivery.objects.get().last_error.startswith("url_not_allowed") and receiver.received == []
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    WebhookDelivery.objects.update(next_attempt_at=WebhookDelivery.objects.get().created_at)
    deliver_all_due()
    (received,) = receiver.received
    assert received.headers["host"] == f"localhost:{port}"  # connected to the address, named by the name
    verify(secret, received)


def test_the_connection_goes_to_the_address_that_was_checked_dns_rebinding(world, receiver, settings, monkeypatch):
    """The name is resolved once: the address checked is the address connected to (a second lookup would
    not even find this made-up name)."""
    port = receiver.server.server_address[1]
    settings.WEBHOOK_ALLOW_HTTP_HOSTS = ["rebind.invalid"]
    real = socket.getaddrinfo
    lookups = []

    def resolver(host, *args, **kwargs):
        if host == "rebind.invalid":
            lookups.append(host)
            return real("127.0.0.1", *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr("webhooks.addresses.socket.getaddrinfo", resolver)
    endpoint, _ = endpoint_for(world.admin, f"http://rebind.invalid:{port}/hook")
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    services.ping(actor=world.admin, endpoint=endpoint)
    deliver_all_due()
    assert receiver.received == [] and WebhookDelivery.objects.get().last_error.startswith("url_not_allowed")
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    WebhookDelivery.objects.update(next_attempt_at=WebhookDelivery.objects.get().created_at)
    lookups.clear()
    deliver_all_due()
    assert lookups == ["rebind.invalid"]
    assert [r.headers["host"] for r in receiver.received] == [f"rebind.invalid:{port}"]


def test_a_redirect_is_not_followed(world, receiver):
    elsewhere = start_receiver()
    try:
        receiver.default_status, receiver.location = 302, elsewhere.url
        endpoint_for(world.admin, receiver.url)
        change_stock(world)
        deliver_all_due()
        delivery = WebhookDelivery.objects.get()
        assert (delivery.status, delivery.last_status_code) == ("pending", 302)
        assert "redirect" in delivery.last_error and elsewhere.received == []
    finally:
        elsewhere.server.shutdown()
        elsewhere.server.server_close()


# --- the scope, asked again before every attempt -------------------------------------------------------------

def test_a_manager_who_lost_the_warehouse_gets_nothing_more_about_it(world, receiver):
    endpoint_for(world.manager_a, receiver.url)
    change_stock(world, world.wh_a)
    fan_out()
    world.wh_a.manager = world.manager_b
    world.wh_a.save()
    assert deliver_all_due()["refused"] == 1
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed" and "may no longer see" in delivery.last_error and receiver.received == []


def test_a_deactivated_endpoint_is_not_attempted(world, receiver):
    endpoint, _ = endpoint_for(world.admin, receiver.url)
    change_stock(world)
    fan_out()
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False, disabled_reason="owner_changed")
    deliver_all_due()
    assert receiver.received == [] and WebhookDelivery.objects.get().status == "failed"


# --- leases ---------------------------------------------------------------------------------------------

def test_an_attempt_whose_worker_died_is_taken_over_after_the_lease(world, receiver, settings):
    settings.WEBHOOK_LEASE_SECONDS = 60
    endpoint_for(world.admin, receiver.url)
    with time_machine.travel(T0, tick=False) as clock:
        change_stock(world)
        fan_out()
        lost, lost_lease = claim_next()  # a worker claims the attempt, then dies
        assert claim_next() is None  # leased: nobody else takes it
        assert DBTaskResult.objects.filter(task_path="webhooks.delivery.pump_webhooks", status="READY",
                                           run_after__lte=lost_lease).exists()  # a run at the lease's end
        clock.shift(59)
        assert claim_next() is None
        clock.shift(1)
        taken, lease = claim_next()
        assert taken.pk == lost.pk and taken.attempts == 2 and taken.last_error.startswith("WorkerLost")
        assert attempt(taken, lease) == "delivered"
        assert attempt(lost, lost_lease) == "delivered"  # a worker outliving its lease: the duplicate window
    assert len(receiver.received) == 2 and len(set(receiver.ids())) == 1


def test_a_superseded_attempt_that_fails_records_nothing(world, loopback, settings):
    settings.WEBHOOK_LEASE_SECONDS = 60
    endpoint_for(world.admin, "http://127.0.0.1:9/hook")
    with time_machine.travel(T0, tick=False) as clock:
        change_stock(world)
        fan_out()
        lost, lost_lease = claim_next()
        clock.shift(61)
        claim_next()
        assert attempt(lost, lost_lease) == "superseded"
    assert WebhookDelivery.objects.get().attempts == 2


# --- auto-disable ------------------------------------------------------------------------------------------

def _failed_deliveries(endpoint, count, when):
    event = WebhookEvent.objects.create(type="ping", data={}, warehouse_ids=[], created_at=when, dispatched_at=when)
    with time_machine.travel(when, tick=False):
        WebhookDelivery.objects.bulk_create([WebhookDelivery(event=event, endpoint=endpoint, status="failed",
                                                             attempts=14) for _ in range(count)])


def test_an_endpoint_failing_for_72_hours_with_20_failed_is_disabled_and_its_owner_emailed(world, receiver, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    receiver.default_status = 503
    endpoint, _ = endpoint_for(world.manager_a, receiver.url)
    with time_machine.travel(T0, tick=False) as clock:
        change_stock(world)
        deliver_all_due()  # the first failure: failing from now on
        endpoint.refresh_from_db()
        assert endpoint.failing_since == T0
        clock.shift(timedelta(hours=1))
        _failed_deliveries(endpoint, 18, T0 + timedelta(hours=1))
        clock.shift(timedelta(hours=71) - timedelta(minutes=1))
        services.ping(actor=world.manager_a, endpoint=endpoint)
        deliver_all_due()  # 20 failed, but a minute short of 72 hours
        endpoint.refresh_from_db()
        assert endpoint.is_active
        clock.shift(timedelta(minutes=2))
        services.ping(actor=world.manager_a, endpoint=endpoint)
        pending = WebhookDelivery.objects.filter(status="pending").count()
        deliver_all_due()
    endpoint.refresh_from_db()
    assert pending == 1
    assert (endpoint.is_active, endpoint.disabled_reason) == (False, "failing")
    task = DBTaskResult.objects.get(task_path="webhooks.emails.send_endpoint_disabled_email")
    assert send_endpoint_disabled_email.call(**task.args_kwargs["kwargs"]) == "sent"
    assert mail.outbox[-1].to == [world.manager_a.email] and str(endpoint.pk) in mail.outbox[-1].subject


def test_a_success_resets_the_failing_clock_and_few_failures_never_disable(world, receiver):
    endpoint, _ = endpoint_for(world.admin, receiver.url)
    _failed_deliveries(endpoint, 19, T0)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=T0 - timedelta(hours=100))
    assert disable_if_failing(endpoint.pk) is False  # 19 failed
    services.ping(actor=world.admin, endpoint=endpoint)
    deliver_all_due()
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None and endpoint.is_active


# --- operators ------------------------------------------------------------------------------------------

def test_prune_deletes_old_delivered_deliveries_and_their_events_only(world, receiver):
    endpoint, _ = endpoint_for(world.admin, receiver.url)
    with time_machine.travel(T0 - timedelta(days=40), tick=False):
        services.ping(actor=world.admin, endpoint=endpoint)
        deliver_all_due()
        services.ping(actor=world.admin, endpoint=endpoint)
        WebhookDelivery.objects.filter(status="pending").update(status="failed")
    services.ping(actor=world.admin, endpoint=endpoint)
    deliver_all_due()
    call_command("prune_webhook_deliveries", "--days", "30", verbosity=0)
    assert sorted(WebhookDelivery.objects.values_list("status", flat=True)) == ["delivered", "failed"]
    assert WebhookEvent.objects.count() == 2


def test_the_metrics_count_pending_and_failed_deliveries(world, loopback):
    endpoint, _ = endpoint_for(world.admin, "http://127.0.0.1:9/hook")
    services.ping(actor=world.admin, endpoint=endpoint)
    _failed_deliveries(endpoint, 2, T0)
    families = {family.name: family for family in webhook_figures()}
    samples = {sample.labels.get("state"): sample.value for sample in families["inventory_webhook_deliveries"].samples}
    assert samples == {"pending": 1, "failed": 2}


def test_a_pump_task_row_left_running_by_a_dead_worker_is_marked_failed(world, loopback):
    from django.utils import timezone

    from webhooks.delivery import pump_webhooks

    result = pump_webhooks.enqueue()
    DBTaskResult.objects.filter(pk=result.id).update(status="RUNNING",
                                                     started_at=timezone.now() - timedelta(hours=1))
    pump_webhooks.call()
    row = DBTaskResult.objects.get(pk=result.id)
    assert (row.status, row.exception_class_path) == ("FAILED", "webhooks.delivery.WorkerLost")
    assert DBTaskResult.objects.filter(task_path="webhooks.delivery.pump_webhooks", status="READY").count() == 1


def test_a_prometheus_scrape_shows_the_webhook_figures(world, anon, loopback):
    from core.tests.test_metrics import TOKEN, scrape, value

    loopback.METRICS_ENABLED, loopback.METRICS_TOKEN, loopback.METRICS_ALLOWED_IPS = True, TOKEN, []
    endpoint, _ = endpoint_for(world.admin, "http://127.0.0.1:9/hook")
    services.ping(actor=world.admin, endpoint=endpoint)
    change_stock(world)  # an event not fanned out yet
    text = scrape(anon).content.decode()
    assert value(text, 'inventory_webhook_deliveries{state="pending"}') == 1
    assert value(text, 'inventory_webhook_deliveries{state="failed"}') == 0
    assert value(text, "inventory_webhook_events_undispatched") == 1
