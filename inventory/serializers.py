"""Representations and input validation of products, stock rows, stock operations, the ledger, thresholds, alerts."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from core.serializers import NonZeroIntegerField, StrictModelSerializer, StrictSerializer
from warehouses.models import Warehouse
from warehouses.validators import required_text, unique_ci_text

from .models import (
    MAX_QUANTITY,
    Lot,
    LowStockAlert,
    LowStockThreshold,
    Product,
    Reservation,
    StockMovement,
)
from .services.reservations import MAX_HOLD


class ProductSerializer(StrictModelSerializer):
    """`{id, sku, name, description, unit, is_active, tracking, created_at}`; `tracking` ("none" | "lot") switches
    only while the product has no stock (409 `product_has_stock`)."""

    class Meta:
        model = Product
        fields = ["id", "sku", "name", "description", "unit", "is_active", "tracking", "created_at"]
        read_only_fields = ["id", "created_at"]
        extra_kwargs = {"description": {"required": False, "max_length": 5000}, "unit": {"required": False},
                        "tracking": {"required": False}}

    def validate_sku(self, value: str) -> str:
        return unique_ci_text(value, queryset=Product.objects.all(), field="sku", instance=self.instance,
                              message="A product with this SKU already exists (SKUs are case-insensitive).")

    def validate_name(self, value: str) -> str:
        return required_text(value)


@extend_schema_serializer(component_name="StockLevelProduct")
class _ProductRefSerializer(serializers.Serializer):
    """`{id, sku, name}` of a stock row's product."""

    id = serializers.IntegerField()
    sku = serializers.CharField()
    name = serializers.CharField()


@extend_schema_serializer(component_name="StockLevelWarehouse")
class _WarehouseRefSerializer(serializers.Serializer):
    """`{id, code, name}` of a stock row's warehouse."""

    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()


@extend_schema_serializer(component_name="StockLevel")
class StockRowSerializer(serializers.Serializer):
    """`{id, product: {id, sku, name}, warehouse: {id, code, name}, quantity, reserved, expired, available,
    incoming, threshold, is_low, updated_at}`."""

    id = serializers.IntegerField(read_only=True)
    product = _ProductRefSerializer(read_only=True)
    warehouse = _WarehouseRefSerializer(read_only=True)
    quantity = serializers.IntegerField(read_only=True, help_text="On hand.")
    reserved = serializers.IntegerField(read_only=True, help_text="Promised by active reservations.")
    expired = serializers.IntegerField(read_only=True, help_text="Units of expired lots on hand (0 when not "
                                                                 "lot-tracked).")
    available = serializers.IntegerField(read_only=True, help_text="max(0, quantity − reserved − expired): what "
                                                                   "may be taken.")
    incoming = serializers.IntegerField(read_only=True, help_text="Shipped here, not yet received.")
    threshold = serializers.IntegerField(read_only=True, allow_null=True)
    is_low = serializers.BooleanField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)


class _StockOperationSerializer(StrictSerializer):
    """The fields every stock operation takes: `{warehouse, product, note?}`."""

    warehouse = serializers.PrimaryKeyRelatedField(queryset=Warehouse.objects.all())
    product = serializers.PrimaryKeyRelatedField(queryset=Product.objects.all())
    note = serializers.CharField(required=False, allow_blank=True, max_length=1000, default="")


class _LotNamingSerializer(StrictSerializer):
    """`lot?` (a lot's code, 1–50 characters) and `expires_on?` (a date or null: for a code the product does
    not have yet; for a known lot it must match). Required (`lot`) for a lot-tracked product's units coming
    in; refused for a product that is not lot-tracked (SPEC §14)."""

    lot = serializers.CharField(required=False, min_length=1, max_length=50,
                                help_text="The lot's code (lot-tracked products).")
    expires_on = serializers.DateField(required=False, allow_null=True,
                                       help_text="The last day the lot may be used (a new lot; null: never expires).")

    def lot_arguments(self) -> dict:
        """The service's `lot` and `expires_on` keywords (`expires_on` left out when not sent)."""
        data = self.validated_data
        arguments = {"lot": data.get("lot")}
        if "expires_on" in data:
            arguments["expires_on"] = data["expires_on"]
        return arguments


class AssignStockSerializer(_LotNamingSerializer, _StockOperationSerializer):
    """`{warehouse, product, quantity (1..1e9), note?, lot?, expires_on?}`."""

    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY)


class AdjustStockSerializer(_LotNamingSerializer, _StockOperationSerializer):
    """`{warehouse, product, delta (non-zero, |delta| <= 1e9), reason, expected_quantity?, note?, lot?,
    expires_on?}`: a negative delta naming `lot` takes from that lot alone (reason `expired` must name it)."""

    delta = NonZeroIntegerField(min_value=-MAX_QUANTITY, max_value=MAX_QUANTITY)
    reason = serializers.ChoiceField(choices=StockMovement.Reason.choices)
    expected_quantity = serializers.IntegerField(
        required=False, min_value=0, max_value=10**15,
        help_text="Optimistic concurrency: the on-hand quantity the client saw; if it differs → 409 stale_quantity.",
    )


class StockMovementSerializer(serializers.ModelSerializer):
    """One ledger row; foreign keys are ids."""

    class Meta:
        model = StockMovement
        fields = ["id", "stock", "warehouse", "product", "kind", "quantity_change", "quantity_after", "actor",
                  "reference_type", "reference_id", "reason", "note", "lot", "created_at"]
        read_only_fields = fields


class ThresholdSerializer(StrictModelSerializer):
    """`{id, product, warehouse, threshold}`; product and warehouse are fixed once created."""

    threshold = serializers.IntegerField(min_value=0, max_value=MAX_QUANTITY)

    class Meta:
        model = LowStockThreshold
        fields = ["id", "product", "warehouse", "threshold"]
        read_only_fields = ["id"]

    def validate(self, attrs):
        if self.instance is not None:
            for field in ("product", "warehouse"):
                if field in attrs and attrs[field] != getattr(self.instance, field):
                    raise serializers.ValidationError({field: ["This field cannot be changed; delete the "
                                                               "threshold and create another."]})
        return super().validate(attrs)


class _RelatedId(serializers.PrimaryKeyRelatedField):
    """A related object's id, from a model instance or from a `.values()` row (where it already is the id)."""

    def to_representation(self, value):
        return value if isinstance(value, int) else value.pk


class LowStockAlertSerializer(serializers.ModelSerializer):
    """An alert (`kind` "low_stock" | "expiry"); `product`, `warehouse` and `lot` (null for low stock) are ids.
    Renders model instances and `.values()` rows."""

    serializer_related_field = _RelatedId

    class Meta:
        model = LowStockAlert
        fields = ["id", "kind", "product", "warehouse", "lot", "quantity_at_trigger", "threshold", "status",
                  "created_at", "resolved_at"]
        read_only_fields = fields


class ReservationSerializer(serializers.ModelSerializer):
    """`{id, warehouse, product, quantity, fulfilled_quantity, status, reference, note, created_by, created_at,
    expires_at, closed_at}`; foreign keys are ids."""

    class Meta:
        model = Reservation
        fields = ["id", "warehouse", "product", "quantity", "fulfilled_quantity", "status", "reference", "note",
                  "created_by", "created_at", "expires_at", "closed_at"]
        read_only_fields = fields


class ReserveSerializer(_StockOperationSerializer):
    """`{warehouse, product, quantity (1..1e9), expires_at? (future, ≤ 30 days), reference? (≤ 100), note?}`."""

    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY)
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    reference = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")

    def validate_expires_at(self, value):
        if value is None:
            return value
        now = timezone.now()
        if value <= now:
            raise serializers.ValidationError("Must be in the future.")
        if value > now + MAX_HOLD:
            raise serializers.ValidationError(f"Must be at most {MAX_HOLD.days} days ahead.")
        return value


class ReleaseSerializer(StrictSerializer):
    """Release takes no fields: any key is a 400 naming it."""


class FulfilSerializer(StrictSerializer):
    """`{quantity?}`: how many of the reserved units to take (default all; the rest is released)."""

    quantity = serializers.IntegerField(required=False, min_value=1, max_value=MAX_QUANTITY)


# --- files (SPEC §13) -----------------------------------------------------------------------------------


class ProductImportSerializer(StrictSerializer):
    """Multipart `{file, dry_run?}`."""

    file = serializers.FileField(allow_empty_file=True)
    dry_run = serializers.BooleanField(required=False, default=False)


class StockImportSerializer(ProductImportSerializer):
    """Multipart `{file, dry_run?, mode?: "assign"|"set"}`."""

    mode = serializers.ChoiceField(choices=["assign", "set"], required=False, default="assign")


class ProductImportResultSerializer(serializers.Serializer):
    """`{created, updated, unchanged, dry_run}`."""

    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    dry_run = serializers.BooleanField()


class StockImportResultSerializer(serializers.Serializer):
    """`{changed, unchanged, dry_run}`."""

    changed = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    dry_run = serializers.BooleanField()


# --- lots (SPEC §14) ------------------------------------------------------------------------------------


class LotSerializer(serializers.ModelSerializer):
    """`{id, product, code, expires_on, created_at}` (`product` an id; `expires_on` null: never expires)."""

    class Meta:
        model = Lot
        fields = ["id", "product", "code", "expires_on", "created_at"]
        read_only_fields = fields


class LotCreateSerializer(StrictSerializer):
    """`{product, code (1–50 characters), expires_on? (a date or null)}`."""

    product = serializers.PrimaryKeyRelatedField(queryset=Product.objects.all())
    code = serializers.CharField(min_length=1, max_length=50)
    expires_on = serializers.DateField(required=False, allow_null=True, default=None)

    def validate_code(self, value: str) -> str:
        return required_text(value)


class LotCorrectionSerializer(StrictSerializer):
    """`{expires_on}` only (a date or null): corrects a mistyped date."""

    expires_on = serializers.DateField(allow_null=True)


@extend_schema_serializer(component_name="StockLotLot")
class _LotRefSerializer(serializers.Serializer):
    """`{id, code, expires_on}` of a lot balance's lot."""

    id = serializers.IntegerField()
    code = serializers.CharField()
    expires_on = serializers.DateField(allow_null=True)


@extend_schema_serializer(component_name="StockLot")
class StockLotRowSerializer(serializers.Serializer):
    """`{id, warehouse: {id, code, name}, product: {id, sku, name}, lot: {id, code, expires_on}, quantity,
    expired}`: one lot's units in one warehouse."""

    id = serializers.IntegerField(read_only=True)
    warehouse = _WarehouseRefSerializer(read_only=True)
    product = _ProductRefSerializer(read_only=True)
    lot = _LotRefSerializer(read_only=True)
    quantity = serializers.IntegerField(read_only=True)
    expired = serializers.BooleanField(read_only=True, help_text="The lot is expired (today, project time zone).")
