"""Webhook endpoints: create, change, delete, rotate the secret, ping, redeliver (SPEC §16).

Each service is keyword-only and atomic, locks the endpoint row when it changes one (`_lock_endpoint`:
scope 404, policy 403, in that order, asked of the locked row), records an audit event (never with a
secret), and raises PermissionDenied, NotFound, UrlNotAllowed, InvalidState or WebhooksNotConfigured.
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from accounts.audit import record_event
from accounts.roles import is_admin, is_manager
from core.documents import lock_document
from core.errors import InvalidState, NotFound, PermissionDenied

from . import listening, policies
from .addresses import check_url
from .delivery import fail_pending, schedule_pump
from .models import ALL_EVENTS, EventType, WebhookDelivery, WebhookEndpoint, WebhookEvent
from .secrets import OVERLAP, encrypt, new_secret

DisabledReason = WebhookEndpoint.DisabledReason


def normalize_events(events: list[str]) -> list[str]:
    """`["*"]` if it holds "*", else the types once each, in the order given."""
    if ALL_EVENTS in events:
        return [ALL_EVENTS]
    return list(dict.fromkeys(events))


def _require_manager(actor) -> None:
    if not policies.can_manage_webhooks(actor):
        raise PermissionDenied("Only admins and managers have webhook endpoints.")


def _require_warehouses(actor, warehouses) -> None:
    if not policies.can_subscribe_to_warehouses(actor, [w.pk for w in warehouses]):
        raise PermissionDenied("A manager may subscribe only to warehouses they manage.")


def _lock_endpoint(actor, pk: int, *, denied: str = "This endpoint is not yours.") -> WebhookEndpoint:
    return lock_document(WebhookEndpoint, actor=actor, pk=pk, allowed=policies.can_act_on_endpoint, denied=denied,
                         state=lambda row: None, visible=lambda user, row: policies.can_act_on_endpoint(user, row))


def _audit_data(endpoint: WebhookEndpoint, warehouse_ids=None) -> dict:
    return {"url": endpoint.url, "events": endpoint.events, "is_active": endpoint.is_active,
            "warehouses": sorted(warehouse_ids if warehouse_ids is not None
                                 else endpoint.warehouses.values_list("pk", flat=True))}


@transaction.atomic
def create_endpoint(*, actor, url: str, events: list[str], warehouses=(), description: str = "",
                    is_active: bool = True, ip: str | None = None) -> tuple[WebhookEndpoint, str]:
    """Create an endpoint owned by `actor`; returns it and its secret (shown this once).

    Raises PermissionDenied (not an admin or manager; a manager naming a warehouse they do not manage),
    UrlNotAllowed, WebhooksNotConfigured (DEBUG off without WEBHOOK_ENCRYPTION_KEYS).
    """
    _require_manager(actor)
    _require_warehouses(actor, warehouses)
    check_url(url)
    secret = new_secret()
    now = timezone.now()
    endpoint = WebhookEndpoint.objects.create(
        url=url, events=normalize_events(events), description=description, created_by=actor, is_active=is_active,
        disabled_reason="" if is_active else DisabledReason.MANUAL, active_since=now,
        secret_encrypted=encrypt(secret))
    endpoint.warehouses.set(warehouses)
    listening.forget()
    record_event(actor=actor, action="webhook.create", target=endpoint, ip=ip,
                 data=_audit_data(endpoint, [w.pk for w in warehouses]))
    return endpoint, secret


@transaction.atomic
def update_endpoint(*, actor, endpoint: WebhookEndpoint, ip: str | None = None, **changes) -> WebhookEndpoint:
    """Change `url`, `events`, `warehouses`, `description` or `is_active`.

    Locks: the endpoint row. Reactivating starts a new active period: the endpoint receives the events
    created from now on. Deactivating fails its pending deliveries. Raises NotFound, PermissionDenied
    (another's endpoint; a warehouse a manager does not manage; reactivating an endpoint disabled for
    `owner_changed` unless an admin), InvalidState (reactivating one whose owner lost their access),
    UrlNotAllowed.
    """
    endpoint = _lock_endpoint(actor, endpoint.pk)
    fields = ["updated_at"]
    if "warehouses" in changes:
        _require_warehouses(actor, changes["warehouses"])
    if "url" in changes and changes["url"] != endpoint.url:
        check_url(changes["url"])
        endpoint.url = changes["url"]
        fields.append("url")
    if "events" in changes:
        endpoint.events = normalize_events(changes["events"])
        fields.append("events")
    if "description" in changes:
        endpoint.description = changes["description"]
        fields.append("description")
    if "is_active" in changes and changes["is_active"] != endpoint.is_active:
        if changes["is_active"]:
            if not policies.can_reactivate(actor, endpoint):
                raise PermissionDenied("Only an admin may reactivate an endpoint whose owner lost their access.")
            owner = endpoint.created_by
            if not (is_admin(owner) or is_manager(owner)):
                raise InvalidState("Its owner is no longer an active admin or manager.", status="inactive")
            endpoint.is_active, endpoint.disabled_reason, endpoint.active_since = True, "", timezone.now()
            endpoint.failing_since = None
        else:
            endpoint.is_active, endpoint.disabled_reason = False, DisabledReason.MANUAL
            fail_pending(endpoint_ids=[endpoint.pk], error="The endpoint was deactivated.")
        fields += ["is_active", "disabled_reason", "active_since", "failing_since"]
    endpoint.save(update_fields=fields)
    if "warehouses" in changes:
        endpoint.warehouses.set(changes["warehouses"])
    listening.forget()
    record_event(actor=actor, action="webhook.update", target=endpoint, ip=ip, data=_audit_data(endpoint))
    return endpoint


@transaction.atomic
def delete_endpoint(*, actor, endpoint: WebhookEndpoint, ip: str | None = None) -> None:
    """Delete an endpoint and its deliveries. Locks: the endpoint row. Raises NotFound, PermissionDenied."""
    endpoint = _lock_endpoint(actor, endpoint.pk)
    data = {"id": endpoint.pk, **_audit_data(endpoint)}
    endpoint.delete()
    listening.forget()
    record_event(actor=actor, action="webhook.delete", target=f"webhookendpoint:{data['id']}", ip=ip, data=data)


@transaction.atomic
def rotate_secret(*, actor, endpoint: WebhookEndpoint, expire_previous: bool = False,
                  ip: str | None = None) -> str:
    """Give the endpoint a new secret; returns it (shown this once).

    Deliveries are signed with it and with every secret replaced less than 24 hours ago, unless
    `expire_previous` drops those at once (a leaked secret). Locks: the endpoint row.
    Raises NotFound, PermissionDenied, WebhooksNotConfigured.
    """
    endpoint = _lock_endpoint(actor, endpoint.pk)
    now = timezone.now()
    secret = new_secret()
    if expire_previous:
        previous = []
    else:
        still_signing = [p for p in endpoint.previous_secrets
                         if now - datetime.fromisoformat(p["replaced_at"]) < OVERLAP]
        previous = [{"secret": endpoint.secret_encrypted, "replaced_at": now.isoformat()}, *still_signing]
    endpoint.secret_encrypted, endpoint.previous_secrets = encrypt(secret), previous
    endpoint.save(update_fields=["secret_encrypted", "previous_secrets", "updated_at"])
    record_event(actor=actor, action="webhook.rotate_secret", target=endpoint, ip=ip,
                 data={"expire_previous": expire_previous})
    return secret


@transaction.atomic
def ping(*, actor, endpoint: WebhookEndpoint, ip: str | None = None) -> WebhookEvent:
    """Queue one `ping` event to this endpoint alone (`{webhook: id}`); returns the event.

    Locks: the endpoint row. Raises NotFound, PermissionDenied, InvalidState (an inactive endpoint).
    """
    endpoint = _lock_endpoint(actor, endpoint.pk)
    if not endpoint.is_active:
        raise InvalidState("The endpoint is inactive; reactivate it first.", status="inactive")
    now = timezone.now()
    event = WebhookEvent.objects.create(type=EventType.PING, data={"webhook": endpoint.pk}, warehouse_ids=[],
                                        created_at=now, target=endpoint, dispatched_at=now)
    WebhookDelivery.objects.create(event=event, endpoint=endpoint, next_attempt_at=now)
    transaction.on_commit(lambda: schedule_pump(timezone.now()))
    record_event(actor=actor, action="webhook.ping", target=endpoint, ip=ip, data={"event": event.pk})
    return event


@transaction.atomic
def redeliver(*, actor, endpoint: WebhookEndpoint, delivery_id: int, ip: str | None = None) -> WebhookDelivery:
    """Queue a new delivery of the same event to this endpoint (same `webhook-id`); returns it.

    Locks: the endpoint row. Raises NotFound (no such delivery of this endpoint), PermissionDenied,
    InvalidState (an inactive endpoint).
    """
    endpoint = _lock_endpoint(actor, endpoint.pk)
    original = WebhookDelivery.objects.filter(pk=delivery_id, endpoint=endpoint).first()
    if original is None:
        raise NotFound(f"No delivery with id {delivery_id} for this endpoint.")
    if not endpoint.is_active:
        raise InvalidState("The endpoint is inactive; reactivate it first.", status="inactive")
    delivery = WebhookDelivery.objects.create(event_id=original.event_id, endpoint=endpoint,
                                              next_attempt_at=timezone.now())
    transaction.on_commit(lambda: schedule_pump(timezone.now()))
    record_event(actor=actor, action="webhook.redeliver", target=endpoint, ip=ip,
                 data={"event": original.event_id, "delivery": delivery.pk, "of": original.pk})
    return delivery


def prune_deliveries(*, older_than: timedelta, now=None) -> tuple[int, int]:
    """Delete delivered deliveries older than `older_than`, then the dispatched events left without a
    delivery; returns (deliveries, events) deleted. Failed and pending deliveries are kept."""
    cutoff = (now or timezone.now()) - older_than
    deliveries, _ = WebhookDelivery.objects.filter(status=WebhookDelivery.Status.DELIVERED,
                                                   created_at__lt=cutoff).delete()
    events, _ = (WebhookEvent.objects.filter(created_at__lt=cutoff, dispatched_at__isnull=False,
                                             deliveries__isnull=True).delete())
    return deliveries, events
