"""The strict-input base every input serializer derives from: a key the endpoint does not take is a 400.

Also the input fields whose rule the OpenAPI schema states from the same definition (docs/DECISIONS.md, "What the
schema says"): ids (`minimum` 1, `maximum` MAX_ID), a non-zero integer (`not: {enum: [0]}`), a list whose items
are each given once (`uniqueItems`), text without NUL (and not blank where refused), and the rules between keys
a strict serializer declares in `schema_rules`.
"""

import copy
from collections.abc import Mapping

from django.db import models
from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiSerializerFieldExtension
from rest_framework import serializers

from .filters import MAX_ID

# Where a strict serializer's `schema_rules` wait in its component until `core.schema.apply_schema_rules`.
SCHEMA_RULES_KEY = "x-schema-rules"
# The schema of an id in a request body: ids are positive 64-bit integers, so nothing else can name an object.
ID_SCHEMA = {"type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_ID}

# Keys clients see in representations but may never set; naming them says "read-only", not "unknown".
READ_ONLY_KEYS = frozenset({
    "id", "username", "role", "status", "warehouse", "is_staff", "is_superuser", "is_active", "date_joined",
    "last_login", "password", "groups", "user_permissions", "actor", "quantity_after", "created_at",
    "updated_at", "requested_by", "decided_by", "decided_at", "decision_reason", "reserved", "available",
    "incoming",
})


class StrictFieldsMixin:
    """Refuse keys the serializer does not accept (unknown or read-only) instead of dropping them.

    A client must never believe a change was applied that was not (SPEC §8, mass assignment).
    """

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            errors = {}
            for key in data.keys():
                if key in writable:
                    continue
                read_only = key in self.fields or key in READ_ONLY_KEYS
                errors[key] = ["This field is not writable." if read_only else "Unknown field."]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


class StrictSerializer(StrictFieldsMixin, serializers.Serializer):
    """A plain input serializer with strict keys."""


class StrictModelSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """A model serializer (representation and input) with strict keys."""


class StrictFieldsSchema(OpenApiSerializerExtension):
    """The OpenAPI request body of a strict serializer says what it takes, and nothing else.

    `additionalProperties: false` (any other key is a 400); the item bounds of a nested list
    (`many=True, min_length=, max_length=`, which drf-spectacular leaves out); a text field's NUL and
    blank rules (`_state_text_rules`); and the serializer's `schema_rules`: the JSON Schema of the rules
    between keys its `validate()` enforces (written as the shapes refused, `not: {anyOf: [...]}`), kept
    beside that `validate()`, merged into the body's schema by `core.schema.apply_schema_rules`.
    """

    target_class = StrictFieldsMixin
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        if direction != "request":
            return schema
        schema["additionalProperties"] = False
        properties = schema.get("properties", {})
        for name, field in self.target.fields.items():
            if name not in properties or field.read_only:
                continue
            if isinstance(field, serializers.ListSerializer):
                if field.min_length is not None:
                    properties[name]["minItems"] = field.min_length
                if field.max_length is not None:
                    properties[name]["maxItems"] = field.max_length
            elif isinstance(field, serializers.CharField):
                _state_text_rules(field, properties[name])
        rules = getattr(self.target, "schema_rules", None)
        if rules:
            # Merged by the hook `core.schema.apply_schema_rules`, after drf-spectacular's enum hook, which would
            # otherwise swap a rule's narrower enum (`role: [staff]`) for the field's whole enum component.
            schema[SCHEMA_RULES_KEY] = copy.deepcopy(rules)
        return schema


# Every DRF CharField refuses a NUL character; one that is not `allow_blank` also refuses text that is only
# whitespace (it trims first). `\s` is Python's whitespace (what generators such as Hypothesis use); ECMAScript's
# differs on U+001C..U+001F and U+FEFF.
NO_NUL_PATTERN = r"^[^\u0000]*$"
NOT_BLANK_PATTERN = r"^[^\u0000]*[^\s\u0000][^\u0000]*$"


def _state_text_rules(field: serializers.CharField, schema: dict) -> None:
    """Add what DRF's CharField checks without a validator drf-spectacular reads (unless a pattern, a format or an
    enum already says more)."""
    if schema.get("type") != "string" or {"pattern", "format", "enum"} & schema.keys():
        return
    blank_refused = not field.allow_blank and field.trim_whitespace
    schema["pattern"] = NOT_BLANK_PATTERN if blank_refused else NO_NUL_PATTERN


# --- input fields whose schema states their rule --------------------------------------------------------


class RelatedIdSchema(OpenApiSerializerFieldExtension):
    """An id in a request body (`PrimaryKeyRelatedField` over an integer key) is 1..MAX_ID: no other number names
    an object, and the field refuses it with the same "does not exist" 400 as an unknown id."""

    target_class = serializers.PrimaryKeyRelatedField
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        queryset = getattr(self.target, "queryset", None)
        integer_key = queryset is not None and isinstance(
            queryset.model._meta.pk, models.AutoField | models.BigAutoField | models.IntegerField)
        if direction == "request" and integer_key and schema.get("type") == "integer" and not self.target.pk_field:
            schema.update({key: value for key, value in ID_SCHEMA.items() if key != "type"})
        return schema


class NonZeroIntegerField(serializers.IntegerField):
    """An integer that must not be 0 (a change of nothing), within its `min_value`..`max_value`."""

    default_error_messages = {"zero": "The change must not be zero."}

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if value == 0:
            self.fail("zero")
        return value


class NonZeroIntegerSchema(OpenApiSerializerFieldExtension):
    """`NonZeroIntegerField`: its bounds, and `not: {enum: [0]}`."""

    target_class = NonZeroIntegerField

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        schema["not"] = {"enum": [0]}
        return schema


class UniqueListField(serializers.ListField):
    """A list whose items may each appear once (`what` names them in the error)."""

    def __init__(self, *, what: str, **kwargs):
        self.what = what
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        values = super().to_internal_value(data)
        seen, repeated = set(), []
        for value in values:
            if value in seen:
                repeated.append(value)
            seen.add(value)
        if repeated:
            raise serializers.ValidationError(
                f"Each {self.what} may appear once; repeated: {sorted(set(repeated))}.")
        return values


class UniqueListSchema(OpenApiSerializerFieldExtension):
    """`UniqueListField`: its item schema and bounds, and `uniqueItems: true`."""

    target_class = UniqueListField

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        schema["uniqueItems"] = True
        return schema
