"""Lots (SPEC §14): the identity of units, their expiry, and the one definition of "expired" and of FEFO.

A `Lot` belongs to a product; `code` is unique per product under the identity key of SKUs
(`core.identity`). A `StockLot` is one lot's balance in one stock row: for a lot-tracked product a row's
`quantity` is the sum of its lot balances at every moment. Balances are written only by the stock door
(`inventory.services`), under the stock row's lock; the database refuses a negative balance.

**Expired**: a lot is expired from the day after its `expires_on`, in the project's time zone
(`expires_on` is the last day it may be used); `expires_on` null never expires. Every check in the
code goes through `is_expired` / `expired_q` / `today`, so "today" cannot mean two things.

**FEFO**: units going out without a named lot are taken from the lots that are not expired, ordered
by `FEFO_ORDER` (`expires_on` nulls last, then the lot's `created_at`, then its id).
"""

import datetime
from collections.abc import Iterable

from django.db import models
from django.db.models import F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.roles import is_active
from core.identity import IdentityKeysMixin, IdentityKeysQuerySet


def today() -> datetime.date:
    """Today in the project's time zone (settings.TIME_ZONE): the day "expired" is measured against."""
    return timezone.localdate()


def is_expired(expires_on: datetime.date | None, *, on: datetime.date | None = None) -> bool:
    """A lot whose last day of use is `expires_on` is expired from the next day on (never when null)."""
    return expires_on is not None and expires_on < (on or today())


def expired_q(prefix: str = "", *, on: datetime.date | None = None) -> Q:
    """The filter "the lot is expired" for a queryset (`prefix`: the path to the lot, e.g. "lot__")."""
    return Q(**{f"{prefix}expires_on__lt": on or today()})


# First-expired-first-out, for a queryset of lots (`FEFO_ORDER`) or of balances (`fefo_order("lot__")`).
def fefo_order(prefix: str = "") -> list:
    return [F(f"{prefix}expires_on").asc(nulls_last=True), F(f"{prefix}created_at").asc(), F(f"{prefix}id").asc()]


FEFO_ORDER = fefo_order()


class LotQuerySet(IdentityKeysQuerySet):
    def for_user(self, user) -> "LotQuerySet":
        """Lots are catalogue data: readable by every active user (like products)."""
        return self.all() if is_active(user) else self.none()


class Lot(IdentityKeysMixin, models.Model):
    """A batch of one product with a code and, optionally, the last day it may be used."""

    product = models.ForeignKey("inventory.Product", on_delete=models.PROTECT, related_name="lots")
    code = models.CharField(max_length=50)
    # core.identity.identity_key(code), filled by save(): unique per product, compared like SKUs.
    code_key = models.TextField(editable=False)
    expires_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    IDENTITY_KEYS = {"code_key": "code"}
    IDENTITY_UNIQUE_WITH = ("product",)

    objects = LotQuerySet.as_manager()

    class Meta:
        ordering = [F("expires_on").asc(nulls_last=True), "id"]
        constraints = [
            models.UniqueConstraint(fields=["product", "code_key"], name="lot_code_unique_per_product"),
        ]
        indexes = [models.Index(fields=["product", "expires_on"], name="lot_product_expires")]

    def __str__(self):
        return f"{self.code} ({self.expires_on or 'no expiry'})"

    @property
    def expired(self) -> bool:
        return is_expired(self.expires_on)


class StockLotQuerySet(models.QuerySet):
    def for_user(self, user) -> "StockLotQuerySet":
        """Lot balances are stock levels (`Stock.objects.for_user`): readable by every active user."""
        return self.all() if is_active(user) else self.none()


class StockLot(models.Model):
    """One lot's balance in one stock row. Written only by the stock door, under the stock row's lock."""

    stock = models.ForeignKey("inventory.Stock", on_delete=models.PROTECT, related_name="lot_balances")
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="balances")
    quantity = models.BigIntegerField(default=0, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = StockLotQuerySet.as_manager()

    class Meta:
        ordering = ["stock_id", "lot_id"]
        constraints = [
            models.UniqueConstraint(fields=["stock", "lot"], name="stocklot_unique_stock_lot"),
            models.CheckConstraint(condition=Q(quantity__gte=0), name="stocklot_quantity_non_negative"),
        ]
        indexes = [models.Index(fields=["lot", "stock"], name="stocklot_lot_stock")]

    def __str__(self):
        return f"lot {self.lot_id} in stock {self.stock_id}: {self.quantity}"


class ExpiryCheckpoint(models.Model):
    """One row (pk 1): the last local day whose expiries the worker announced (`inventory.expiry_checks`).

    At a day change the lots whose `expires_on` lies in [checkpoint, today) became expired; the worker
    announces their rows (`StockChanged`, version raised) and moves the checkpoint to today in the same
    transaction, under this row's lock, so each row is announced once per day change.
    """

    day = models.DateField()

    def __str__(self):
        return f"expiries announced through {self.day}"


def expired_units(stock_ids: Iterable[int], *, on: datetime.date | None = None) -> dict[int, int]:
    """Units of expired lots on hand, per stock row id (rows holding none are absent: 0). One query.

    A product that is not lot-tracked has no lot balance above 0 (the tracking switch needs an empty
    product), so its rows read 0.
    """
    return dict(
        StockLot.objects.filter(stock_id__in=list(stock_ids), quantity__gt=0).filter(expired_q("lot__", on=on))
        .values("stock_id").annotate(units=Sum("quantity")).values_list("stock_id", "units").order_by()
    )


def expired_expression(stock_ref: str = "pk", *, on: datetime.date | None = None):
    """An annotation: units of expired lots on hand in the stock row `OuterRef(stock_ref)` (0 when none)."""
    units = (StockLot.objects.filter(stock_id=OuterRef(stock_ref), quantity__gt=0).filter(expired_q("lot__", on=on))
             .values("stock_id").annotate(units=Sum("quantity")).values("units").order_by())
    return Coalesce(Subquery(units[:1]), Value(0), output_field=models.BigIntegerField())
