"""Inventory services: the only code that changes stock, the catalogue and thresholds.

`stock` is the one door for quantities (the only writer of `Stock.quantity`); `transfers` extends it
to moves of many lines and units in transit (the only writer of `Stock.incoming`); `catalogue`
holds products; `thresholds` the low-stock thresholds; `reservations` the promised units; `files`
the CSV imports and exports. The public names are re-exported here, so callers import
`from inventory.services import assign_stock`.
"""


from ..errors import (
    DuplicateSku,
    DuplicateThreshold,
    InactiveObject,
    InvalidQuantity,
    ReservationNotActive,
    StaleQuantity,
)
from .catalogue import PRODUCT_FIELDS, check_tracking_switch, create_product, update_product
from .files import InvalidFile, import_products, import_stock
from .lots import UNSET, find_lot, resolve_lot
from .reservations import expire_due_reservations, fulfil_reservation, release_reservation, reserve_stock
from .stock import (
    MAX_BALANCE,
    Kind,
    Reference,
    StockChange,
    adjust_stock,
    apply_stock_changes,
    assign_stock,
    check_active,
    check_quantity,
    deduct_stock,
    require_available,
)
from .thresholds import delete_threshold, set_threshold, update_threshold
from .transfers import (
    ReceivedLine,
    hold_transfer_lines,
    move_stock,
    move_stock_lines,
    receive_transfer_lines,
    release_transfer_lines,
    ship_transfer_lines,
    write_off_in_transit,
)

__all__ = [
    "MAX_BALANCE", "PRODUCT_FIELDS", "check_tracking_switch",
    "DuplicateSku", "DuplicateThreshold", "InactiveObject", "InvalidQuantity",
    "Kind", "Reference", "adjust_stock", "assign_stock", "check_active", "check_quantity", "create_product",
    "deduct_stock", "delete_threshold", "move_stock", "set_threshold", "update_product", "update_threshold",
    "ReservationNotActive", "StaleQuantity", "expire_due_reservations", "fulfil_reservation", "release_reservation",
    "reserve_stock", "require_available",
    "StockChange", "apply_stock_changes", "InvalidFile", "import_products", "import_stock",
    "hold_transfer_lines", "move_stock_lines", "receive_transfer_lines", "release_transfer_lines",
    "ship_transfer_lines", "write_off_in_transit", "UNSET", "find_lot", "resolve_lot",
    "ReceivedLine",
]
