"""The catalogue: creating and changing products (admins and managers)."""

from django.db import IntegrityError, transaction

from accounts.audit import record_event
from core.errors import NotFound, PermissionDenied

from .. import policies
from ..errors import DuplicateSku
from ..models import Product

PRODUCT_FIELDS = ("sku", "name", "description", "unit", "is_active")


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
                   is_active: bool = True, ip: str | None = None) -> Product:
    """Add a product to the catalogue. Takes no lock (the unique index on the lower-cased SKU decides races).

    Raises PermissionDenied unless the actor is an admin or a manager, DuplicateSku (also under a
    concurrent create).
    """
    _require_editor(actor)
    product = Product(sku=sku, name=name, description=description, unit=unit, is_active=is_active)
    _save_product(product)
    record_event(actor=actor, action="product.create", target=product, ip=ip, data=_product_snapshot(product))
    return product


@transaction.atomic
def update_product(*, actor, product: Product, ip: str | None = None, **changes) -> Product:
    """Change some of sku, name, description, unit, is_active.

    Locks: the product row. Raises PermissionDenied unless the actor is an admin or a manager, NotFound if
    the product was deleted meanwhile, DuplicateSku.
    """
    _require_editor(actor)
    unknown = set(changes) - set(PRODUCT_FIELDS)
    if unknown:
        raise ValueError(f"unknown product fields: {sorted(unknown)}")
    product = Product.objects.select_for_update().filter(pk=product.pk).first()
    if product is None:  # deleted by a concurrent request (the Django admin can delete an unused product)
        raise NotFound("This product no longer exists.")
    before = _product_snapshot(product)
    for field, value in changes.items():
        setattr(product, field, value)
    _save_product(product)
    record_event(actor=actor, action="product.update", target=product, ip=ip,
                 data={"before": before, "after": _product_snapshot(product), "fields": sorted(changes)})
    return product
