"""What every approval workflow shares: states, decisions, and who decided what, when and why."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class RequestStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"


class Decision(models.TextChoices):
    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"


class DecidedRequest(models.Model):
    """Fields every request shares: who asked, who decided, when and why."""

    reason = models.TextField(blank=True, max_length=2000)
    status = models.CharField(max_length=10, choices=RequestStatus.choices, default=RequestStatus.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decision_reason = models.TextField(blank=True, max_length=2000)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]

    @property
    def is_pending(self) -> bool:
        return self.status == RequestStatus.PENDING

    def mark_decided(self, *, actor, status: str, reason: str = "") -> None:
        """Record the decision (the caller holds the row lock and has checked the request is pending)."""
        self.status = status
        self.decided_by = actor
        self.decided_at = timezone.now()
        self.decision_reason = reason or ""
        self.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
