"""The catalogue: creating and changing products (admins and managers), and the tracking switch (SPEC §14).

**The tracking switch.** A product's `tracking` ("none" | "lot") changes only while no stock row of it has
`quantity`, `reserved` or `incoming` above 0 and no open or submitted count has a line for it. Locks: the
product row (`FOR NO KEY UPDATE`: a ledger or lot insert referencing the product takes `FOR KEY SHARE` on it
under a stock row lock, which this mode does not block, so no deadlock), then every stock row of the product
(`inventory.locks`, primary-key order). The stock door reads `tracking` afresh under its own row lock, so an
operation either finished before the switch looked at its row (and the switch sees its units: 409) or waits
for the switch and sees the new value: no operation straddles a switch.

Count lines live in `workflows`, a higher layer: it registers a guard (`register_tracking_guard`) in its
`AppConfig.ready()`, asked under the locks above.
"""

from collections.abc import Callable

from django.db import IntegrityError, transaction

from accounts.audit import record_event
from core.errors import NotFound, PermissionDenied

from .. import locks, policies
from ..errors import DuplicateSku, ProductHasStock
from ..models import Product

PRODUCT_FIELDS = ("sku", "name", "description", "unit", "is_active", "tracking")

# Callables `guard(product_id) -> str | None`: why the product's tracking may not switch now (e.g. "an open
# count has a line for it"), or None. Registered by higher layers (`workflows`) in `AppConfig.ready()`.
_TRACKING_GUARDS: list[Callable[[int], str | None]] = []


def register_tracking_guard(guard: Callable[[int], str | None]) -> None:
    """Add a reason a product's tracking may not switch (asked under the product and stock row locks)."""
    if guard not in _TRACKING_GUARDS:
        _TRACKING_GUARDS.append(guard)


def check_tracking_switch(product: Product) -> None:
    """The rule of the switch, asked with the product row locked: lock the product's stock rows (pk order),
    then refuse while any holds units (on hand, reserved or incoming) or a guard objects.

    Raises ProductHasStock. The caller writes the new `tracking` in the same transaction.
    """
    rows = locks.lock_product_stock_rows(product.pk)
    busy = [row for row in rows if row.quantity or row.reserved or row.incoming]
    if busy:
        raise ProductHasStock(f"Product {product.sku} has stock in {len(busy)} warehouse(s) (on hand, reserved "
                              "or incoming): its tracking cannot change.")
    for guard in _TRACKING_GUARDS:
        reason = guard(product.pk)
        if reason:
            raise ProductHasStock(f"Product {product.sku}: {reason}; its tracking cannot change.")


def _product_snapshot(product: Product) -> dict:
    return {field: getattr(product, field) for field in PRODUCT_FIELDS if field != "description"}


def _require_editor(actor) -> None:
    if not policies.can_edit_products(actor):
        raise PermissionDenied("Only an admin or a manager may create or change products.")


def _save_product(product: Product) -> None:
    try:
        with transaction.atomic():
            product.save()
    except IntegrityError as exc:  # a concurrent create won the unique SKU
        raise DuplicateSku() from exc


@transaction.atomic
def create_product(*, actor, sku: str, name: str, description: str = "", unit: str = "pcs",
                   is_active: bool = True, tracking: str = Product.Tracking.NONE, ip: str | None = None) -> Product:
    """Add a product to the catalogue (`tracking` "none" or "lot"). Takes no lock (the unique index on the
    lower-cased SKU decides races; a new product has no stock to guard).

    Raises PermissionDenied unless the actor is an admin or a manager, DuplicateSku (also under a
    concurrent create).
    """
    _require_editor(actor)
    product = Product(sku=sku, name=name, description=description, unit=unit, is_active=is_active,
                      tracking=tracking)
    _save_product(product)
    record_event(actor=actor, action="product.create", target=product, ip=ip, data=_product_snapshot(product))
    return product


@transaction.atomic
def update_product(*, actor, product: Product, ip: str | None = None, **changes) -> Product:
    """Change some of sku, name, description, unit, is_active, tracking.

    Locks: the product row (`FOR NO KEY UPDATE`), and for a change of `tracking` then its stock rows (see
    the module: the switch). Raises PermissionDenied unless the actor is an admin or a manager, NotFound if
    the product was deleted meanwhile, DuplicateSku, ProductHasStock (a tracking change while the product has
    stock or an open count line; nothing changed).
    """
    _require_editor(actor)
    unknown = set(changes) - set(PRODUCT_FIELDS)
    if unknown:
        raise ValueError(f"unknown product fields: {sorted(unknown)}")
    product = Product.objects.select_for_update(no_key=True).filter(pk=product.pk).first()
    if product is None:  # deleted by a concurrent request (the Django admin can delete an unused product)
        raise NotFound("This product no longer exists.")
    if "tracking" in changes and changes["tracking"] != product.tracking:
        check_tracking_switch(product)
    before = _product_snapshot(product)
    for field, value in changes.items():
        setattr(product, field, value)
    _save_product(product)
    record_event(actor=actor, action="product.update", target=product, ip=ip,
                 data={"before": before, "after": _product_snapshot(product), "fields": sorted(changes)})
    return product
