"""Recording audit events: one call per state change, inside the change's transaction."""

from django.db import models

from .models import AuditEvent


def target_of(obj: models.Model | None) -> str:
    if obj is None:
        return ""
    return f"{obj._meta.model_name}:{obj.pk}"


def record_event(*, actor, action: str, target: models.Model | str | None = None, data: dict | None = None,
                 ip: str | None = None) -> AuditEvent:
    """Append one audit event. Call it inside the same transaction as the change it records."""
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        target=target if isinstance(target, str) else target_of(target),
        data=data or {},
        ip=ip,
    )
