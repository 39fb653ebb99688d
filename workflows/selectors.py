"""Reads of purchase and transfer requests, always starting from the user's scope."""

from django.db.models import QuerySet

from .models import PurchaseRequest, TransferRequest


def purchase_requests_for(user) -> QuerySet[PurchaseRequest]:
    """Purchase requests the user may see: their own, plus those of the warehouses they operate."""
    return PurchaseRequest.objects.for_user(user)


def transfer_requests_for(user) -> QuerySet[TransferRequest]:
    """Transfer requests the user may see: admin all, manager and staff of either warehouse."""
    return TransferRequest.objects.for_user(user)
