"""Delivery in the worker (`manage.py db_worker`): fan-out, signed POSTs, retries, leases, auto-disable.

One self-rescheduling task, `pump_webhooks`, does the work; it is woken after the commit of every change
that wrote an event (`webhooks.outbox`), when a worker starts, when a lease or a retry falls due, and at
least every `WEBHOOK_SWEEP_SECONDS` (60) while the worker runs. At most one run waits in the queue
(`core.scheduling.ensure_scheduled`); a run that finds more than one delivery due queues another at once,
so every idle worker joins in.

1. Fan-out (`fan_out`): the oldest undispatched events, row-locked (`SKIP LOCKED`: two workers never fan
   out the same event), become one delivery per endpoint that is active since before the event was
   created, subscribed to its type, filtered to (or not filtered away from) one of its warehouses and
   whose owner may see that warehouse (`webhooks.scope`); the event is marked dispatched in the same
   transaction, so each endpoint gets one delivery per event.
2. Each attempt is claimed alone (`claim_next`): the due delivery's row is locked (`SKIP LOCKED`), its
   `attempts` raised and a lease set (`WEBHOOK_LEASE_SECONDS`, 120, well above the 10-second timeout),
   and a pump run is queued for the lease's end, in one transaction. A worker killed mid-attempt leaves
   the lease behind; when it ends, the next run takes the delivery over (the lost attempt counts).
3. The attempt (`attempt`): the scope is asked again (endpoint active, owner may still see a warehouse of
   the event; if not, the delivery fails without a request), the URL is checked again and resolved once,
   and the POST goes to that address (Host header and TLS SNI of the name: `webhooks.addresses`), signed
   with the current secret and those replaced less than 24 hours ago (`webhooks.signing`), timeout 10 s,
   redirects not followed. 2xx: delivered. Anything else: the next attempt after
   `WEBHOOK_RETRY_BASE_SECONDS` × 2^(attempt−1) (at most 6 hours), or `failed` after
   `WEBHOOK_MAX_ATTEMPTS`.
4. An endpoint whose deliveries have all failed for `WEBHOOK_DISABLE_AFTER_HOURS` (72) with at least 20
   failed is disabled (`disabled_reason: "failing"`) and its owner e-mailed (`webhooks.emails`).

Duplicate window (at least once): a receiver that got the request but whose answer the worker did not
record (the worker killed in between, or an attempt outliving its lease) gets the event again, with the
same `webhook-id`; see docs/DECISIONS.md.
"""

import functools
import json
import logging
import ssl
import time
from datetime import datetime, timedelta

import httpx
from django.conf import settings
from django.db import transaction
from django.db.models import Min, Q
from django.utils import timezone
from django_tasks import task
from django_tasks_db.models import DBTaskResult, get_date_max
from rest_framework.fields import DateTimeField

from core.errors import DomainError
from core.scheduling import ensure_scheduled

from . import addresses, signing
from .emails import send_endpoint_disabled_email
from .models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from .scope import owner_scope, owner_scopes, reaches
from .secrets import signing_secrets

logger = logging.getLogger(__name__)

Status = WebhookDelivery.Status

TIMEOUT_SECONDS = 10.0
MAX_DELAY = timedelta(hours=6)
FAN_OUT_BATCH = 500
DISABLE_MIN_FAILED = 20
PUMP_BUDGET_SECONDS = 50.0  # a run hands over to the next one after this long (no run holds a worker forever)
PUMP_TASK_PATH = "webhooks.delivery.pump_webhooks"
# pg_advisory_xact_lock key of "schedule the webhook pump" (a constant unique in this database).
PUMP_SCHEDULE_LOCK = 0x3EB0_0C51
USER_AGENT = "inventory-webhooks/1"


def max_attempts() -> int:
    return max(1, int(getattr(settings, "WEBHOOK_MAX_ATTEMPTS", 14)))


def retry_delay(attempt: int) -> timedelta:
    """The wait after failed attempt `attempt` (1-based): base × 2^(attempt−1), at most 6 hours."""
    base = float(getattr(settings, "WEBHOOK_RETRY_BASE_SECONDS", 30))
    return min(MAX_DELAY, timedelta(seconds=base * 2 ** min(max(0, attempt - 1), 32)))


def lease() -> timedelta:
    return timedelta(seconds=float(getattr(settings, "WEBHOOK_LEASE_SECONDS", 120)))


def sweep_interval() -> timedelta:
    return timedelta(seconds=float(getattr(settings, "WEBHOOK_SWEEP_SECONDS", 60)))


def disable_after() -> timedelta:
    return timedelta(hours=float(getattr(settings, "WEBHOOK_DISABLE_AFTER_HOURS", 72)))


def schedule_pump(run_at: datetime) -> None:
    """Make sure a pump run is queued at or before `run_at` (in the caller's transaction, if any).

    Fast path, one query and no lock: a run queued at or before `run_at` is already waiting. It starts
    after this check, so it sees whatever the caller committed before asking (the after-commit wake-up of
    `webhooks.outbox` relies on that).
    """
    waiting = DBTaskResult.objects.filter(task_path=PUMP_TASK_PATH, status="READY").filter(
        Q(run_after=get_date_max()) | Q(run_after__lte=run_at))
    if waiting.exists():
        return
    ensure_scheduled(pump_webhooks, run_at=run_at, lock_key=PUMP_SCHEDULE_LOCK)


def start_pump(event=None) -> None:
    """Subscriber of `core.worker.WorkerStarted`: deliver what waits (the chain then keeps itself going)."""
    schedule_pump(timezone.now())


# --- 1. fan-out -----------------------------------------------------------------------------------------

def fan_out(*, limit: int = FAN_OUT_BATCH) -> int:
    """Turn the oldest undispatched events (at most `limit`) into deliveries; return how many events.

    Locks: the event rows (`FOR UPDATE SKIP LOCKED`). Reads the active endpoints, their warehouse filters and
    their owners' scopes once per batch.
    """
    now = timezone.now()
    with transaction.atomic():
        events = list(WebhookEvent.objects.select_for_update(skip_locked=True)
                      .filter(dispatched_at__isnull=True).order_by("created_at", "pk")[:limit])
        if not events:
            return 0
        endpoints = list(WebhookEndpoint.objects.filter(is_active=True).select_related("created_by__role")
                         .prefetch_related("warehouses"))
        scopes = owner_scopes([endpoint.created_by for endpoint in endpoints])
        filters = {endpoint.pk: {w.pk for w in endpoint.warehouses.all()} for endpoint in endpoints}
        deliveries = [
            WebhookDelivery(event=event, endpoint=endpoint, next_attempt_at=now)
            for event in events
            for endpoint in endpoints
            if endpoint.active_since <= event.created_at
            and reaches(event_type=event.type, event_warehouses=event.warehouse_ids, subscribed=endpoint.events,
                        filter_ids=filters[endpoint.pk], scope=scopes[endpoint.created_by_id])
        ]
        WebhookDelivery.objects.bulk_create(deliveries, batch_size=1000)
        WebhookEvent.objects.filter(pk__in=[event.pk for event in events]).update(dispatched_at=now)
    return len(events)


# --- 2. claims ------------------------------------------------------------------------------------------

def _due(now: datetime) -> Q:
    return Q(status=Status.PENDING, next_attempt_at__lte=now) & (Q(leased_until__isnull=True)
                                                                  | Q(leased_until__lte=now))


def claim_next(now: datetime | None = None, *, watched: bool = False) -> tuple[WebhookDelivery, datetime] | None:
    """Claim the next due attempt: `(delivery, its lease's end)`, or None when nothing is due.

    Locks: the delivery row (`FOR UPDATE SKIP LOCKED`). A delivery whose lease ended belonged to a dead
    worker: its lost attempt counts; after the last one the delivery fails here. With the claim, a pump run
    is queued at the lease's end, unless `watched`: this pump run already queued one at or before it (that
    run, finding this lease still running, queues the next at its end: the chain holds).
    """
    while True:
        now = now or timezone.now()
        with transaction.atomic():
            delivery = (WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
                        .select_related("event", "endpoint__created_by__role").filter(_due(now))
                        .order_by("next_attempt_at", "pk").first())
            if delivery is None:
                return None
            if delivery.leased_until is not None:
                error = (f"WorkerLost: attempt {delivery.attempts} did not finish within its lease "
                         f"of {lease().total_seconds():g} s")
                logger.warning("webhook delivery %s: %s", delivery.pk, error)
                if delivery.attempts >= max_attempts():
                    WebhookDelivery.objects.filter(pk=delivery.pk).update(
                        status=Status.FAILED, last_error=error, leased_until=None, next_attempt_at=None,
                        updated_at=now)
                    continue
                delivery.last_error = error
            leased_until = now + lease()
            delivery.attempts += 1
            delivery.leased_until = leased_until
            delivery.save(update_fields=["attempts", "leased_until", "last_error", "updated_at"])
            if not watched:
                # Committed with the claim: if this worker dies, a run takes the attempt over when the lease ends.
                schedule_pump(leased_until)
            return delivery, leased_until


# --- 3. one attempt -------------------------------------------------------------------------------------

def body_of(event: WebhookEvent) -> bytes:
    """`{id, type, created_at, data}`, compact JSON: the bytes that are signed and sent."""
    payload = {"id": event.pk, "type": event.type, "created_at": DateTimeField().to_representation(event.created_at),
               "data": event.data}
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def refusal(delivery: WebhookDelivery) -> str | None:
    """Why this delivery may no longer be attempted (the scope, asked again), or None."""
    endpoint, event = delivery.endpoint, delivery.event
    if not endpoint.is_active:
        return f"The endpoint is inactive ({endpoint.disabled_reason or 'deactivated'})."
    if event.target_id is not None:
        return None if event.target_id == endpoint.pk else "The event was sent to another endpoint."
    owner = endpoint.created_by
    scope = owner_scope(owner)
    filter_ids = set(endpoint.warehouses.values_list("pk", flat=True))
    # The type was matched at fan-out (a later change of `events` does not withdraw a queued delivery).
    if not reaches(event_type=event.type, event_warehouses=event.warehouse_ids, subscribed=["*"],
                   filter_ids=filter_ids, scope=scope):
        return "The endpoint's owner may no longer see the warehouses of this event."
    return None


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The certificate store, loaded once per process (loading it costs ~70 ms, more than a delivery)."""
    return httpx.create_ssl_context()


def post(target: addresses.Target, body: bytes, headers: dict[str, str]) -> httpx.Response:
    """POST to the pinned address (never following a redirect); the response body is not read.

    A client per delivery: no connection is reused, so one name's TLS session never serves another name
    that resolves to the same address.
    """
    with httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False, trust_env=False,
                      verify=tls_context()) as client:
        request_headers = {**headers, "Host": target.host_header, "Content-Type": "application/json",
                           "User-Agent": USER_AGENT}
        with client.stream("POST", target.url, content=body, headers=request_headers,
                           extensions={"sni_hostname": target.host}) as response:
            return response


def attempt(delivery: WebhookDelivery, leased_until: datetime) -> str:
    """Make the claimed attempt; record and return its outcome: "delivered", "retrying", "failed",
    "refused" (out of scope: failed without a request) or "superseded" (the lease was taken over)."""
    event, endpoint = delivery.event, delivery.endpoint
    reason = refusal(delivery)
    if reason is not None:
        _record_failure(delivery, leased_until, error=reason, status_code=None, final=True)
        return "refused"
    body = body_of(event)
    now = timezone.now()
    status_code = None
    try:
        target = addresses.resolve_for_delivery(endpoint.url)
        headers = signing.headers(signing_secrets(endpoint, now=now), msg_id=event.pk,
                                  timestamp=int(now.timestamp()), body=body)
        started = time.monotonic()
        response = post(target, body, headers)
        took = time.monotonic() - started
    except DomainError as exc:  # url_not_allowed (DNS changed), webhooks_not_configured (keys)
        error = f"{exc.code}: {exc.detail}"
    except (httpx.HTTPError, httpx.InvalidURL, OSError, ValueError) as exc:  # timeout, refused, TLS, protocol
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    else:
        status_code = response.status_code
        if took > TIMEOUT_SECONDS:  # httpx's timeouts are per phase; the promise is an answer within 10 s
            error = f"HTTP {status_code} after {took:.1f} s (more than {TIMEOUT_SECONDS:g} s)"
        elif 200 <= status_code < 300:
            _record_delivered(delivery, status_code)
            return "delivered"
        else:
            error = f"HTTP {status_code}" + (" (a redirect; not followed)" if response.is_redirect else "")
    return _record_failure(delivery, leased_until, error=error, status_code=status_code)


def _record_delivered(delivery: WebhookDelivery, status_code: int) -> None:
    now = timezone.now()
    # Delivered is delivered, even if this attempt outlived its lease and was taken over meanwhile.
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=Status.DELIVERED, delivered_at=now, last_status_code=status_code, last_error="",
        leased_until=None, next_attempt_at=None, updated_at=now)
    if delivery.endpoint.failing_since is not None:
        WebhookEndpoint.objects.filter(pk=delivery.endpoint_id).update(failing_since=None)


def _record_failure(delivery: WebhookDelivery, leased_until: datetime, *, error: str, status_code: int | None,
                    final: bool = False) -> str:
    now = timezone.now()
    with transaction.atomic():
        row = (WebhookDelivery.objects.select_for_update()
               .filter(pk=delivery.pk, status=Status.PENDING, leased_until=leased_until).first())
        if row is None:
            logger.warning("webhook delivery %s: attempt %s was taken over; it failed: %s", delivery.pk,
                           delivery.attempts, error)
            return "superseded"
        last = final or row.attempts >= max_attempts()
        row.status = Status.FAILED if last else Status.PENDING
        row.next_attempt_at = None if last else now + retry_delay(row.attempts)
        row.last_error, row.last_status_code, row.leased_until = error[:2000], status_code, None
        row.save(update_fields=["status", "next_attempt_at", "last_error", "last_status_code", "leased_until",
                                "updated_at"])
    if final:  # refused for scope: not the receiver's failure
        logger.info("webhook delivery %s not attempted: %s", delivery.pk, error)
        return "refused"
    logger.warning("webhook delivery %s of %s to endpoint %s failed (attempt %s of %s): %s", delivery.pk,
                   delivery.event_id, delivery.endpoint_id, row.attempts, max_attempts(), error)
    # After the delivery's transaction: the endpoint row is locked alone (services lock it before deliveries).
    WebhookEndpoint.objects.filter(pk=delivery.endpoint_id, failing_since__isnull=True).update(failing_since=now)
    if last:
        disable_if_failing(delivery.endpoint_id, now=now)
    return "failed" if last else "retrying"


# --- 4. auto-disable ------------------------------------------------------------------------------------

@transaction.atomic
def disable_if_failing(endpoint_id: int, *, now: datetime | None = None) -> bool:
    """Disable the endpoint if every delivery failed for `WEBHOOK_DISABLE_AFTER_HOURS` with at least 20
    failed; fail its pending deliveries and e-mail its owner (a task, same transaction). Locks: the endpoint
    row. Returns whether it disabled it."""
    now = now or timezone.now()
    endpoint = (WebhookEndpoint.objects.select_for_update()
                .filter(pk=endpoint_id, is_active=True, failing_since__lte=now - disable_after()).first())
    if endpoint is None:
        return False
    failed = WebhookDelivery.objects.filter(endpoint_id=endpoint_id, status=Status.FAILED,
                                            updated_at__gte=endpoint.failing_since).count()
    if failed < DISABLE_MIN_FAILED:
        return False
    endpoint.is_active, endpoint.disabled_reason = False, WebhookEndpoint.DisabledReason.FAILING
    endpoint.save(update_fields=["is_active", "disabled_reason", "updated_at"])
    fail_pending(endpoint_ids=[endpoint_id], error="The endpoint was disabled: every delivery failed.")
    send_endpoint_disabled_email.enqueue(endpoint_id=endpoint_id)
    logger.warning("webhook endpoint %s disabled: every delivery failed since %s (%s failed)", endpoint_id,
                   endpoint.failing_since.isoformat(), failed)
    return True


def fail_pending(*, endpoint_ids: list[int], error: str) -> int:
    """Fail the pending deliveries of these endpoints (in the caller's transaction); return how many."""
    return WebhookDelivery.objects.filter(endpoint_id__in=endpoint_ids, status=Status.PENDING).update(
        status=Status.FAILED, last_error=error, leased_until=None, next_attempt_at=None, updated_at=timezone.now())


# --- the pump -------------------------------------------------------------------------------------------

def next_run_at(now: datetime) -> datetime:
    """When the pump must run next: now if work is due, else the earliest retry or lease end, at the latest
    one sweep interval from now."""
    if WebhookEvent.objects.filter(dispatched_at__isnull=True).exists():
        return now
    pending = WebhookDelivery.objects.filter(status=Status.PENDING).aggregate(
        retry=Min("next_attempt_at", filter=Q(leased_until__isnull=True)), lease=Min("leased_until"))
    return min([moment for moment in (pending["retry"], pending["lease"]) if moment] + [now + sweep_interval()])


def _fail_lost_pump_rows(now: datetime) -> None:
    # django-tasks-db leaves the row of a task whose worker was killed RUNNING forever; say what happened.
    cutoff = now - timedelta(seconds=PUMP_BUDGET_SECONDS + TIMEOUT_SECONDS) - lease()
    DBTaskResult.objects.filter(task_path=PUMP_TASK_PATH, status="RUNNING", started_at__lte=cutoff).update(
        status="FAILED", finished_at=now, exception_class_path=f"{__name__}.WorkerLost",
        traceback="WorkerLost: the worker running this pump died; its deliveries were taken over after their lease")


@task()
def pump_webhooks() -> dict:
    """Fan out new events and make every due attempt (for at most `PUMP_BUDGET_SECONDS`), then queue the next
    run. Returns the outcomes counted."""
    started = time.monotonic()
    counts = {"events": 0, "delivered": 0, "retrying": 0, "failed": 0, "refused": 0, "superseded": 0}
    _fail_lost_pump_rows(timezone.now())
    while time.monotonic() - started < PUMP_BUDGET_SECONDS and (fanned := fan_out()):
        counts["events"] += fanned
    claims = 0
    while time.monotonic() - started < PUMP_BUDGET_SECONDS:
        claimed = claim_next(watched=claims > 0)
        if claimed is None:
            break
        claims += 1
        if claims == 1 and WebhookDelivery.objects.filter(_due(timezone.now())).exists():
            schedule_pump(timezone.now())  # more than this one due: another worker may join in
        counts[attempt(*claimed)] += 1
        if sum(counts.values()) % 100 == 0:
            counts["events"] += fan_out()
    schedule_pump(next_run_at(timezone.now()))
    return counts


def deliver_all_due() -> dict:
    """Run the pump's work in this process until nothing is due (tests, `manage.py` shells)."""
    totals: dict[str, int] = {}
    while True:
        counts = pump_webhooks.call()
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + value
        if not any(value for key, value in counts.items()):
            return totals
