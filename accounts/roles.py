"""The four roles and their descriptions; used by the data migration and `seed_roles`."""

ROLE_DESCRIPTIONS = {
    "admin": "Everything: warehouses, products, transfers, promotions, demotions.",
    "manager": "Manages their warehouses: staff, stock, thresholds, purchase approvals, transfer requests.",
    "staff": "Works in one warehouse: purchase decisions, stock adjustments, ledger and reports.",
    "viewer": "Reads the catalogue and stock levels; creates and cancels own purchase requests.",
}


def ensure_roles(role_model) -> int:
    """Create missing roles (idempotent); returns how many were created."""
    created = 0
    for name, description in ROLE_DESCRIPTIONS.items():
        _, was_created = role_model.objects.get_or_create(name=name, defaults={"description": description})
        created += int(was_created)
    return created
