"""The catalogue: creating and changing products (admins and managers), and the tracking switch (SPEC §14).

**The tracking switch.** A product's `tracking` ("none" | "lot") changes only while no stock row of it has
`quantity`, `reserved` or `incoming` above 0 and no open or submitted count has a line for it. Locks: the
product row (`FOR NO KEY UPDATE`: a ledger or lot insert referencing the product takes `FOR KEY SHARE` on it
under a stock row lock, which this mode does not block, so no deadlock), then every stock row of the product
(`inventory.locks`, primary-key order). The stock door reads `tracking` afresh under its own row lock, so an
operation either finished before the switch looked at its row (and the switch sees its units: 409) or waits
for the switch and sees the new value: no operation straddles a switch.

Count lines live in `workflows`, a higher layer: it registers its query with `inventory.switch_guards` in its
`AppConfig.ready()`, asked under the locks above (a count holds the products' tracking locks shared while it
adds lines: `inventory.locks.share_lock_products`).
"""

from django.db import IntegrityError, transaction

from accounts.audit import record_event
from core.errors import NotFound, PermissionDenied

from .. import locks, policies, switch_guards
from ..errors import DuplicateSku, ProductHasStock
from ..models import Product

PRODUCT_FIELDS = ("sku", "name", "description", "unit", "is_active", "tracking")

def check_tracking_switch(product: Product) -> None:
    """The rule of the switch, asked with the product row locked: lock the product's stock rows (pk order),
    then refuse while any holds units (on hand, reserved or incoming) or an open or submitted count has a line
    for the product (`inventory.switch_guards`).

    Raises ProductHasStock. The caller writes the new `tracking` in the same transaction.
    """
    rows = locks.lock_product_stock_rows(product.pk)
    busy = [row for row in rows if row.quantity or row.reserved or row.incoming]
    if busy:
        raise ProductHasStock(f"Product {product.sku} has stock in {len(busy)} warehouse(s) (on hand, reserved "
                              "or incoming): its tracking cannot change.")
    if switch_guards.open_count_products([product.pk]):
        raise ProductHasStock(f"Product {product.sku}: an open or submitted count has a line for it; its tracking "
                              "cannot change.")


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
