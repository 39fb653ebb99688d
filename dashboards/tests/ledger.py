"""Test data: consistent ledger rows at chosen times.

`StockMovement.created_at` defaults to the `timezone.now` function object captured when the model was
defined, so patching `django.utils.timezone.now` does not move it, and the ledger may not be UPDATEd.
These helpers therefore insert ledger rows directly (bulk_create) with a running `quantity_after`,
then set the matching Stock balance: test data only, consistent by construction
(quantity = sum of the row's movements).
"""

from datetime import datetime

from inventory.models import Stock, StockMovement


def write_ledger(*, warehouse, product, entries, actor=None) -> Stock:
    """Append `entries` = [(created_at, quantity_change, kind[, reason])] to the product's ledger here."""
    stock, _ = Stock.objects.get_or_create(warehouse=warehouse, product=product)
    balance = stock.quantity
    rows = []
    for entry in entries:
        created_at, change, kind = entry[:3]
        reason = entry[3] if len(entry) > 3 else ""
        balance += change
        assert balance >= 0, "test ledger would go negative"
        rows.append(StockMovement(stock=stock, warehouse=warehouse, product=product, kind=kind,
                                  quantity_change=change, quantity_after=balance, actor=actor,
                                  reason=reason, created_at=created_at))
    StockMovement.objects.bulk_create(rows, batch_size=500)
    Stock.objects.filter(pk=stock.pk).update(quantity=balance)
    stock.refresh_from_db()
    return stock


def at(tz, *args) -> datetime:
    """An aware datetime in `tz`: at(berlin, 2026, 1, 31, 23, 59)."""
    return datetime(*args, tzinfo=tz)
