"""Reads of the inventory: stock levels with their thresholds, and the ledger."""

from django.db.models import BooleanField, Case, F, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Greatest

from .lots import Lot, StockLot, expired_expression, fefo_order
from .models import LowStockThreshold, Product, Reservation, Stock, StockMovement


def _threshold_of_row() -> Subquery:
    return Subquery(
        LowStockThreshold.objects.filter(product_id=OuterRef("product_id"), warehouse_id=OuterRef("warehouse_id"))
        .order_by()
        .values("threshold")[:1]
    )


def is_low(quantity: int, threshold: int | None) -> bool:
    """The one rule of "low stock": a threshold is set and the quantity is below it.

    `low_condition()` is the same rule in SQL; alerts ask this one, the stock list that one.
    """
    return threshold is not None and quantity < threshold


def low_condition(quantity: str = "quantity", threshold: str = "threshold") -> Q:
    """`is_low` as a query condition over a quantity field and a threshold field (or annotation)."""
    return Q(**{f"{threshold}__isnull": False}) & Q(**{f"{quantity}__lt": F(threshold)})


def available_units(quantity: int, reserved: int, expired: int) -> int:
    """The one rule of "available" for a stock row (SPEC §14): max(0, quantity − reserved − expired)."""
    return max(0, quantity - reserved - expired)


def with_expired(queryset: QuerySet[Stock]) -> QuerySet[Stock]:
    """Stock rows annotated with `expired` (units of expired lots on hand; a correlated subquery on the
    (stock, lot) index, so the list stays one query) and `available` by `available_units`."""
    return queryset.annotate(expired=expired_expression("pk")).annotate(
        available=Greatest(F("quantity") - F("reserved") - F("expired"), Value(0)))


def stock_levels_for(user) -> QuerySet[Stock]:
    """Stock rows a user may read, with `threshold` (or null), `is_low`, `expired`, `available` and `sku`, in
    SQL (one query)."""
    return with_expired(
        Stock.objects.for_user(user)
        .select_related("product", "warehouse")
        .annotate(
            threshold=_threshold_of_row(),
            is_low=Case(
                When(low_condition(), then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            ),
            sku=F("product__sku"),
        )
    )


# The columns of one `/api/stocks/` row (`StockRowSerializer`'s shape), for `.values(*STOCK_ROW_FIELDS)` of
# `stock_levels_for` or of any Stock queryset annotated with `threshold` and `expired` (`with_expired`);
# `stock_row` shapes one.
STOCK_ROW_FIELDS = ("id", "product_id", "product__sku", "product__name", "warehouse_id", "warehouse__code",
                    "warehouse__name", "quantity", "reserved", "incoming", "expired", "threshold", "updated_at")


def stock_row(values: dict) -> dict:
    """One `/api/stocks/` row from `.values(*STOCK_ROW_FIELDS)`: the keys, order and values of
    `StockRowSerializer` (`available` and `is_low` computed here by the same rules), `updated_at` still a
    datetime (the list view formats it as the serializer's DateTimeField does)."""
    threshold = values["threshold"]
    return {
        "id": values["id"],
        "product": {"id": values["product_id"], "sku": values["product__sku"], "name": values["product__name"]},
        "warehouse": {"id": values["warehouse_id"], "code": values["warehouse__code"],
                      "name": values["warehouse__name"]},
        "quantity": values["quantity"],
        "reserved": values["reserved"],
        "expired": values["expired"],
        "available": available_units(values["quantity"], values["reserved"], values["expired"]),
        "incoming": values["incoming"],
        "threshold": threshold,
        "is_low": is_low(values["quantity"], threshold),
        "updated_at": values["updated_at"],
    }


def stock_row_for(user, *, pk: int) -> Stock:
    """One stock row in the shape of the stock list."""
    return stock_levels_for(user).get(pk=pk)


def products_for(user) -> QuerySet[Product]:
    """The catalogue: every product, for every active user."""
    return Product.objects.all()


def movements_for(user) -> QuerySet[StockMovement]:
    """The ledger of the warehouses the user operates."""
    return StockMovement.objects.for_user(user)


def thresholds_for(user) -> QuerySet[LowStockThreshold]:
    """Thresholds of the warehouses the user may read."""
    return LowStockThreshold.objects.for_user(user)


def reservations_for(user) -> QuerySet[Reservation]:
    """Reservations of the warehouses the user operates (admin all, manager theirs, staff own), newest first."""
    return Reservation.objects.for_user(user).order_by("-created_at", "-id")


def lots_for(user) -> QuerySet[Lot]:
    """Lots (catalogue data, every active user), ordered by `expires_on` (nulls last), then id."""
    return Lot.objects.for_user(user).order_by(F("expires_on").asc(nulls_last=True), "id")


def stock_lots_for(user) -> QuerySet[StockLot]:
    """Lot balances holding units, in the warehouses whose stock the user may read (`Stock.objects.for_user`),
    with their stock row's warehouse and product and their lot (one query), first-expired-first-out, then
    warehouse code, then id."""
    return (StockLot.objects.for_user(user).filter(quantity__gt=0)
            .select_related("lot", "stock__warehouse", "stock__product")
            .order_by(*fefo_order("lot__"), "stock__warehouse__code", "id"))
