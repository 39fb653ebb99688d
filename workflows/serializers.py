"""Input validation and representations of purchase and transfer requests."""

from rest_framework import serializers

from core.decisions import Decision
from core.filters import MAX_ID
from core.serializers import StrictSerializer
from inventory.models import MAX_QUANTITY, Product
from warehouses.models import Warehouse

from .models import MAX_LINES, PurchaseRequest, StockCount, StockCountLine, TransferLine, TransferMode, TransferRequest
from .services.counts import MAX_COUNT_LINES


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


class TransferLineSerializer(serializers.ModelSerializer):
    """One line of a transfer: asked for, shipped, received and rejected (damaged or lost) units."""

    class Meta:
        model = TransferLine
        fields = ["id", "product", "quantity", "shipped_quantity", "received_quantity", "rejected_quantity"]
        read_only_fields = fields


class TransferRequestSerializer(serializers.ModelSerializer):
    """A transfer request as the API shows it (foreign keys as ids); `product`/`quantity` null unless one line."""

    lines = TransferLineSerializer(many=True, read_only=True)

    class Meta:
        model = TransferRequest
        fields = ["id", "source_warehouse", "destination_warehouse", "product", "quantity", "mode", "lines",
                  "reason", "status", "requested_by", "decided_by", "decision_reason", "created_at", "decided_at"]
        read_only_fields = fields


class PurchaseRequestCreateSerializer(StrictSerializer):
    """`{warehouse, product, quantity, reason?}`."""

    warehouse = ActiveRelatedField(queryset=Warehouse.objects.all())
    product = ActiveRelatedField(queryset=Product.objects.all())
    quantity = _quantity_field()
    reason = _reason_field()


class TransferLineInputSerializer(StrictSerializer):
    """`{product, quantity}`: one line of a new transfer."""

    product = ActiveRelatedField(queryset=Product.objects.all())
    quantity = _quantity_field()


class TransferRequestCreateSerializer(StrictSerializer):
    """`{source_warehouse, destination_warehouse, product, quantity | lines, mode?, reason?}`; the warehouses differ.

    Either Part I's `product` and `quantity` (one line) or `lines` (1–100, each product once), not both.
    """

    source_warehouse = ActiveRelatedField(queryset=Warehouse.objects.all())
    destination_warehouse = ActiveRelatedField(queryset=Warehouse.objects.all())
    product = ActiveRelatedField(queryset=Product.objects.all(), required=False)
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY, required=False)
    lines = TransferLineInputSerializer(many=True, required=False, min_length=1, max_length=MAX_LINES)
    mode = serializers.ChoiceField(choices=TransferMode.choices, default=TransferMode.DIRECT)
    reason = _reason_field()

    def validate(self, attrs):
        errors = {}
        if attrs["source_warehouse"].pk == attrs["destination_warehouse"].pk:
            errors["destination_warehouse"] = ["The destination must differ from the source."]
        single = {key for key in ("product", "quantity") if key in attrs}
        if "lines" in attrs:
            for key in single:
                errors[key] = [f"Send either {key} or lines, not both."]
            products = [line["product"].pk for line in attrs["lines"]]
            twice = sorted({pk for pk in products if products.count(pk) > 1})
            if twice:
                errors["lines"] = [f"Each product at most once; listed more than once: {twice}."]
        else:
            for key in {"product", "quantity"} - single:
                errors[key] = ["This field is required (or send lines)."]
        if errors:
            raise serializers.ValidationError(errors)
        if "lines" not in attrs:
            attrs["lines"] = [{"product": attrs.pop("product"), "quantity": attrs.pop("quantity")}]
        attrs["lines"] = [(line["product"], line["quantity"]) for line in attrs["lines"]]
        return attrs


class ReceiptLineSerializer(StrictSerializer):
    """`{line, accepted, rejected}`: units of one line that arrived in good order, and damaged ones (0/0: none yet)."""

    line = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    accepted = serializers.IntegerField(min_value=0, max_value=MAX_QUANTITY)
    rejected = serializers.IntegerField(min_value=0, max_value=MAX_QUANTITY, default=0)


class ReceiveSerializer(StrictSerializer):
    """`{lines: [{line, accepted, rejected}]}` (each line at most once)."""

    lines = ReceiptLineSerializer(many=True, min_length=1, max_length=MAX_LINES)

    def validate_lines(self, value):
        ids = [item["line"] for item in value]
        twice = sorted({pk for pk in ids if ids.count(pk) > 1})
        if twice:
            raise serializers.ValidationError(f"Each line at most once; named more than once: {twice}.")
        return value


class CloseSerializer(StrictSerializer):
    """`{reason}`: why the rest of the shipment is written off as lost in transit (required)."""

    reason = serializers.CharField(max_length=2000)


class EmptySerializer(StrictSerializer):
    """`{}`: the action takes no input (any key is refused)."""


class DecisionSerializer(StrictSerializer):
    """`{id, decision: "approve"|"reject", reason?}`."""

    id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    decision = serializers.ChoiceField(choices=Decision.choices)
    reason = _reason_field()


class CancelSerializer(StrictSerializer):
    """`{id}`."""

    id = serializers.IntegerField(min_value=1, max_value=MAX_ID)


# --- stock counts (SPEC §12) ------------------------------------------------------------------------


class StockCountLineSerializer(serializers.ModelSerializer):
    """`{id, product, lot, expected, counted, difference}`; `lot` the id of the lot the line counts (null for a
    product that is not lot-tracked); `difference` is `counted − expected` (null until counted)."""

    difference = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = StockCountLine
        fields = ["id", "product", "lot", "expected", "counted", "difference"]
        read_only_fields = fields


class StockCountSerializer(serializers.ModelSerializer):
    """A count with its lines; foreign keys are ids."""

    lines = StockCountLineSerializer(many=True, read_only=True)

    class Meta:
        model = StockCount
        fields = ["id", "warehouse", "status", "note", "created_by", "submitted_by", "decided_by", "decision_reason",
                  "created_at", "submitted_at", "decided_at", "lines"]
        read_only_fields = fields


def _unique_ids(values: list[int], what: str) -> list[int]:
    seen, repeated = set(), []
    for value in values:
        if value in seen:
            repeated.append(value)
        seen.add(value)
    if repeated:
        raise serializers.ValidationError(f"Each {what} may appear once; repeated: {sorted(set(repeated))}.")
    return values


class StockCountCreateSerializer(StrictSerializer):
    """`{warehouse, products? (ids, each once), note?}`."""

    warehouse = serializers.PrimaryKeyRelatedField(queryset=Warehouse.objects.all())
    products = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=MAX_ID), required=False,
                                     min_length=1, max_length=MAX_COUNT_LINES)
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")

    def validate_products(self, value: list[int]) -> list[Product]:
        _unique_ids(value, "product")
        found = Product.objects.in_bulk(value)
        missing = [pk for pk in value if pk not in found]
        if missing:
            raise serializers.ValidationError(f"Unknown products: {missing[:20]}.")
        return [found[pk] for pk in value]


class CountedLineSerializer(StrictSerializer):
    """`{line, counted (>= 0)}`, or a lot found that was not expected (SPEC §14): `{product, lot, expires_on?,
    counted}` (`lot` a code; `expires_on` for a code the product does not have yet, or the known lot's date)."""

    line = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    product = serializers.PrimaryKeyRelatedField(queryset=Product.objects.all(), required=False)
    lot = serializers.CharField(required=False, min_length=1, max_length=50, help_text="The found lot's code.")
    expires_on = serializers.DateField(required=False, allow_null=True,
                                       help_text="The found lot's last day of use (a new lot; null: never expires).")
    counted = serializers.IntegerField(min_value=0, max_value=MAX_QUANTITY)

    def validate(self, attrs):
        if ("line" in attrs) == ("product" in attrs):
            raise serializers.ValidationError("Give either `line` (a line of the count) or `product` and `lot` "
                                              "(a lot found that was not expected).")
        extra = sorted({"lot", "expires_on"} & attrs.keys()) if "line" in attrs else []
        if extra:
            raise serializers.ValidationError({name: ["Only for a found lot (with `product`)."] for name in extra})
        return attrs


class StockCountLinesSerializer(StrictSerializer):
    """`{lines: [{line, counted} | {product, lot, expires_on?, counted}]}`: each line once."""

    lines = serializers.ListField(child=CountedLineSerializer(), min_length=1, max_length=MAX_COUNT_LINES)

    def validate_lines(self, value: list[dict]) -> list[dict]:
        _unique_ids([item["line"] for item in value if "line" in item], "line")
        return value


class CountDecisionSerializer(StrictSerializer):
    """`{decision: "approve"|"reject", reason?}`."""

    decision = serializers.ChoiceField(choices=Decision.choices)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
