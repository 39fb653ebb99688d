"""Input validation and representations of purchase and transfer requests."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.decisions import Decision
from core.filters import MAX_ID
from core.identity import identity_key
from core.serializers import StrictSerializer, UniqueListField
from inventory.models import MAX_QUANTITY, Product
from warehouses.models import Warehouse

from . import selectors
from .models import (
    MAX_LINES,
    PurchaseRequest,
    ReorderRule,
    StockCount,
    StockCountLine,
    TransferLine,
    TransferMode,
    TransferRequest,
)
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


class TransferLineLotSerializer(serializers.Serializer):
    """The units of one lot on a transfer line: `{lot, code, expires_on, shipped, received, rejected}`."""

    lot = serializers.IntegerField(source="lot_id", read_only=True)
    code = serializers.CharField(source="lot.code", read_only=True)
    expires_on = serializers.DateField(source="lot.expires_on", read_only=True, allow_null=True)
    shipped = serializers.IntegerField(read_only=True)
    received = serializers.IntegerField(read_only=True)
    rejected = serializers.IntegerField(read_only=True)


class TransferLineSerializer(serializers.ModelSerializer):
    """One line of a transfer: asked for, shipped, received and rejected (damaged or lost) units.

    A line of a lot-tracked product (or one that carried lots) also shows `lots`, in the order shipped
    (empty until it ships); other lines show no `lots` key, exactly as before lots existed.
    """

    lots = TransferLineLotSerializer(many=True, read_only=True, source="lot_list", required=False,
                                     help_text="Lot-tracked products only: the lots that travelled on this line.")

    class Meta:
        model = TransferLine
        fields = ["id", "product", "quantity", "shipped_quantity", "received_quantity", "rejected_quantity", "lots"]
        read_only_fields = fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if getattr(instance, "lot_list", None) is None:
            data.pop("lots", None)
        return data


class TransferRequestListSerializer(serializers.ListSerializer):
    """A page of transfers: the lots of their lot-tracked lines are read in one query for the page (none
    when no line is lot-tracked)."""

    def to_representation(self, data):
        items = list(data.all() if hasattr(data, "all") else data)
        selectors.attach_line_lots(items)
        return super().to_representation(items)


class TransferRequestSerializer(serializers.ModelSerializer):
    """A transfer request as the API shows it (foreign keys as ids); `product`/`quantity` null unless one line."""

    lines = TransferLineSerializer(many=True, read_only=True)

    class Meta:
        model = TransferRequest
        fields = ["id", "source_warehouse", "destination_warehouse", "product", "quantity", "mode", "lines",
                  "reason", "status", "requested_by", "decided_by", "decision_reason", "created_at", "decided_at",
                  "reorder_rule"]
        read_only_fields = fields
        list_serializer_class = TransferRequestListSerializer

    def to_representation(self, instance):
        selectors.attach_line_lots([instance])  # a no-op when the page's list serializer did it
        return super().to_representation(instance)


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

    # Which shapes `validate()` refuses, as JSON Schema (merged into the request body by
    # `core.serializers.StrictFieldsSchema`): `product` and `quantity`, or `lines`, never both, never neither.
    # Said with `not` rather than `oneOf` branches, so that client generators keep one body model. "The
    # warehouses differ" and "each product once" JSON Schema cannot say.
    schema_rules = {"not": {"anyOf": [
        {"title": "lines and product", "required": ["lines", "product"]},
        {"title": "lines and quantity", "required": ["lines", "quantity"]},
        {"title": "neither lines nor product and quantity",
         "not": {"anyOf": [{"required": ["lines"]}, {"required": ["product", "quantity"]}]}},
    ]}}

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
    """`{line, accepted, rejected, lot?}`: units of one line that arrived in good order, and damaged ones (0/0:
    none yet); `lot` (a code) says which lot of a lot-tracked line they are."""

    line = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    accepted = serializers.IntegerField(min_value=0, max_value=MAX_QUANTITY)
    rejected = serializers.IntegerField(min_value=0, max_value=MAX_QUANTITY, default=0)
    lot = serializers.CharField(required=False, min_length=1, max_length=50,
                                help_text="The code of the lot these units are (a lot shipped on this line).")


# A receipt of 100 lines may name several lots per line.
MAX_RECEIPT_ENTRIES = 1000


class ReceiveSerializer(StrictSerializer):
    """`{lines: [{line, accepted, rejected, lot?}]}`: each line at most once, or once per lot it names."""

    lines = ReceiptLineSerializer(many=True, min_length=1, max_length=MAX_RECEIPT_ENTRIES)

    def validate_lines(self, value):
        keys = [(item["line"], identity_key(item["lot"]) if "lot" in item else None) for item in value]
        twice = sorted({line for line, lot in keys if keys.count((line, lot)) > 1})
        if twice:
            raise serializers.ValidationError(f"Each line at most once (or once per lot); named more than once: "
                                              f"{twice}.")
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
    products = UniqueListField(what="product", child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
                               required=False, min_length=1, max_length=MAX_COUNT_LINES)
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")

    def validate_products(self, value: list[int]) -> list[Product]:
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

    # The view takes it whole although the method is PATCH (the count is patched, not this body): `lines` is
    # required, which drf-spectacular's partial ("Patched") body would otherwise drop.
    schema_rules = {"required": ["lines"]}

    def validate_lines(self, value: list[dict]) -> list[dict]:
        _unique_ids([item["line"] for item in value if "line" in item], "line")
        return value


class CountDecisionSerializer(StrictSerializer):
    """`{decision: "approve"|"reject", reason?}`."""

    decision = serializers.ChoiceField(choices=Decision.choices)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


# --- reorder rules (SPEC §15) -----------------------------------------------------------------------


class LastEvaluationSerializer(serializers.Serializer):
    """The last evaluation of a rule: its inputs and outcome (SPEC §15)."""

    evaluated_at = serializers.DateTimeField()
    quantity = serializers.IntegerField()
    reserved = serializers.IntegerField()
    expired = serializers.IntegerField()
    incoming = serializers.IntegerField()
    open_inbound = serializers.IntegerField()
    projected = serializers.IntegerField()
    proposed = serializers.IntegerField()
    transfer_request = serializers.IntegerField(allow_null=True)
    outcome = serializers.ChoiceField(choices=ReorderRule.Outcome.choices)


class ReorderRuleSerializer(serializers.ModelSerializer):
    """A reorder rule as the API shows it (foreign keys as ids); `last_evaluation` null until the first."""

    last_evaluation = serializers.SerializerMethodField()

    class Meta:
        model = ReorderRule
        fields = ["id", "warehouse", "product", "source_warehouse", "min_quantity", "max_quantity", "multiple",
                  "is_active", "held", "created_by", "created_at", "last_evaluation"]
        read_only_fields = fields

    @extend_schema_field(LastEvaluationSerializer(allow_null=True))
    def get_last_evaluation(self, rule) -> dict | None:
        return rule.last_evaluation  # stored in its API shape by the evaluation


class ReorderRuleInputSerializer(StrictSerializer):
    """`{warehouse, product, source_warehouse, min_quantity (≥0), max_quantity (> min), multiple (≥1, default 1),
    is_active (default true)}`; on PATCH (`instance` given) every key is optional, `warehouse` and `product`
    may not change, and the bounds are checked against the rule's other values."""

    warehouse = ActiveRelatedField(queryset=Warehouse.objects.all())
    product = ActiveRelatedField(queryset=Product.objects.all())
    source_warehouse = ActiveRelatedField(queryset=Warehouse.objects.all())
    min_quantity = serializers.IntegerField(min_value=0, max_value=MAX_QUANTITY)
    max_quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY)
    multiple = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY, default=1)
    is_active = serializers.BooleanField(default=True)

    patch = False  # `ReorderRulePatchSerializer`: every key optional, also in the schema

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance is not None or self.patch:  # PATCH: only what is sent; no defaults
            for field in self.fields.values():
                field.required = False
                field.default = serializers.empty

    def validate(self, attrs):
        rule = self.instance
        if rule is not None:
            for field in ("warehouse", "product"):
                if field in attrs and attrs[field].pk != getattr(rule, f"{field}_id"):
                    raise serializers.ValidationError({field: ["This field cannot be changed; delete the rule and "
                                                               "create another."]})
                attrs.pop(field, None)
        low = attrs.get("min_quantity", rule.min_quantity if rule else None)
        high = attrs.get("max_quantity", rule.max_quantity if rule else None)
        if low is not None and high is not None and high <= low:
            raise serializers.ValidationError({"max_quantity": ["Must be greater than min_quantity."]})
        return attrs


class ReorderRulePatchSerializer(ReorderRuleInputSerializer):
    """`PATCH /api/reorder-rules/{id}/`: any of the rule's keys; `warehouse` and `product` may not change."""

    patch = True
