"""The strict-input base every input serializer derives from: a key the endpoint does not take is a 400."""

from collections.abc import Mapping

from drf_spectacular.extensions import OpenApiSerializerExtension
from rest_framework import serializers

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
    """The OpenAPI request body of a strict serializer says so: `additionalProperties: false`."""

    target_class = StrictFieldsMixin
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        if direction == "request":
            schema["additionalProperties"] = False
        return schema
