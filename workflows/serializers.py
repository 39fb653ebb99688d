"""Input validation and representations of purchase and transfer requests."""

from rest_framework import serializers

from core.decisions import Decision
from core.filters import MAX_ID
from core.serializers import StrictSerializer
from inventory.models import MAX_QUANTITY, Product
from warehouses.models import Warehouse

from .models import PurchaseRequest, TransferRequest


class ActiveRelatedField(serializers.PrimaryKeyRelatedField):
    """An id of an existing, active object; anything else (unknown, inactive, malformed) is a 400."""

    default_error_messages = {
        **serializers.PrimaryKeyRelatedField.default_error_messages,
        "inactive": "{name} {pk_value} is inactive.",
    }

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("incorrect_type", data_type=type(data).__name__)
        try:
            pk = int(data)
        except (TypeError, ValueError):
            self.fail("incorrect_type", data_type=type(data).__name__)
        if not 0 < pk <= MAX_ID:
            self.fail("does_not_exist", pk_value=data)
        obj = super().to_internal_value(pk)
        if not obj.is_active:
            self.fail("inactive", name=obj._meta.verbose_name.capitalize(), pk_value=pk)
        return obj


def _quantity_field():
    return serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY)


def _reason_field():
    return serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class PurchaseRequestSerializer(serializers.ModelSerializer):
    """A purchase request as the API shows it (foreign keys as ids)."""

    class Meta:
        model = PurchaseRequest
        fields = ["id", "warehouse", "product", "quantity", "reason", "status", "requested_by", "decided_by",
                  "decision_reason", "created_at", "decided_at"]
        read_only_fields = fields


class TransferRequestSerializer(serializers.ModelSerializer):
    """A transfer request as the API shows it (foreign keys as ids)."""

    class Meta:
        model = TransferRequest
        fields = ["id", "source_warehouse", "destination_warehouse", "product", "quantity", "reason", "status",
                  "requested_by", "decided_by", "decision_reason", "created_at", "decided_at"]
        read_only_fields = fields


class PurchaseRequestCreateSerializer(StrictSerializer):
    """`{warehouse, product, quantity, reason?}`."""

    warehouse = ActiveRelatedField(queryset=Warehouse.objects.all())
    product = ActiveRelatedField(queryset=Product.objects.all())
    quantity = _quantity_field()
    reason = _reason_field()


class TransferRequestCreateSerializer(StrictSerializer):
    """`{source_warehouse, destination_warehouse, product, quantity, reason?}`; the warehouses differ."""

    source_warehouse = ActiveRelatedField(queryset=Warehouse.objects.all())
    destination_warehouse = ActiveRelatedField(queryset=Warehouse.objects.all())
    product = ActiveRelatedField(queryset=Product.objects.all())
    quantity = _quantity_field()
    reason = _reason_field()

    def validate(self, attrs):
        if attrs["source_warehouse"].pk == attrs["destination_warehouse"].pk:
            raise serializers.ValidationError(
                {"destination_warehouse": ["The destination must differ from the source."]}
            )
        return attrs


class DecisionSerializer(StrictSerializer):
    """`{id, decision: "approve"|"reject", reason?}`."""

    id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    decision = serializers.ChoiceField(choices=Decision.choices)
    reason = _reason_field()


class CancelSerializer(StrictSerializer):
    """`{id}`."""

    id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
