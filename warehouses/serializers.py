"""Warehouse representation and input validation; the staffing bodies that name a warehouse."""

from django.contrib.auth import password_validation
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Role, User
from accounts.roles import is_manager
from accounts.serializers import NewPasswordField, ScopedUserField
from core.identity import check_identifier, identity_key
from core.serializers import ID_SCHEMA, StrictModelSerializer, StrictSerializer

from .models import Warehouse
from .validators import required_text, unique_ci_text


class WarehouseSerializer(StrictModelSerializer):
    """`{id, code, name, address, manager, is_active, count_tolerance, created_at}`; `manager`: a user id or null."""

    manager = serializers.PrimaryKeyRelatedField(queryset=User.objects.select_related("role"), allow_null=True,
                                                 required=False)

    class Meta:
        model = Warehouse
        fields = ["id", "code", "name", "address", "manager", "is_active", "count_tolerance", "created_at"]
        read_only_fields = ["id", "created_at"]
        extra_kwargs = {"address": {"required": False, "max_length": 2000}}

    def validate_code(self, value: str) -> str:
        return unique_ci_text(value, queryset=Warehouse.objects.all(), field="code", instance=self.instance,
                              message="A warehouse with this code already exists (codes are case-insensitive).")

    def validate_name(self, value: str) -> str:
        return required_text(value)

    def validate_manager(self, value: User | None) -> User | None:
        # is_manager is False for an inactive user, so this is "an active manager".
        if value is not None and not is_manager(value):
            raise serializers.ValidationError("The manager must be an active user with the manager role.")
        return value


# --- staffing (`warehouses.staffing`) ---------------------------------------------------------------


@extend_schema_field(ID_SCHEMA)  # get_queryset() is per call: no queryset to read the key from
class WarehouseField(serializers.PrimaryKeyRelatedField):
    """A warehouse id (`active_only`: of an active warehouse)."""

    def __init__(self, *, active_only: bool = False, **kwargs):
        self.active_only = active_only
        super().__init__(**kwargs)

    def get_queryset(self):
        warehouses = Warehouse.objects.all()
        return warehouses.filter(is_active=True) if self.active_only else warehouses


class RegisterSerializer(StrictSerializer):
    """A self-registration: viewer (default) or staff of an active warehouse."""

    username = serializers.CharField(max_length=150, validators=[UnicodeUsernameValidator()])
    email = serializers.EmailField(max_length=254)
    password = NewPasswordField()
    role = serializers.ChoiceField(choices=[Role.Name.VIEWER, Role.Name.STAFF], default=Role.Name.VIEWER)
    warehouse = WarehouseField(active_only=True, required=False, allow_null=True)

    # What `validate()` says of role and warehouse, as JSON Schema (merged into the request body by
    # `core.serializers.StrictFieldsSchema`): a viewer names no warehouse, a staff member names one. Said as
    # the shapes refused (`not`), not as `oneOf` branches, so that client generators keep one body model.
    schema_rules = {"not": {"anyOf": [
        {"title": "staff without a warehouse", "required": ["role"], "properties": {
            "role": {"enum": [Role.Name.STAFF.value]}}, "not": {"required": ["warehouse"]}},
        {"title": "staff with a null warehouse", "required": ["role", "warehouse"], "properties": {
            "role": {"enum": [Role.Name.STAFF.value]}, "warehouse": {"type": "integer", "nullable": True,
                                                                   "enum": [None]}}},
        {"title": "a viewer with a warehouse", "required": ["warehouse"], "properties": {
            "role": {"enum": [Role.Name.VIEWER.value]}, "warehouse": {"type": "integer"}}},
    ]}}

    def validate_username(self, value):
        check_identifier(value)
        if User.objects.filter(username_key=identity_key(value)).exists():
            raise serializers.ValidationError("A user with this username already exists.")
        return value

    def validate_email(self, value):
        check_identifier(value)
        if User.objects.filter(email_key=identity_key(value)).exists():
            raise serializers.ValidationError("A user with this e-mail already exists.")
        return value

    def validate(self, attrs):
        warehouse = attrs.get("warehouse")
        if attrs["role"] == Role.Name.STAFF and warehouse is None:
            raise serializers.ValidationError({"warehouse": ["A staff registration needs a warehouse."]})
        if attrs["role"] == Role.Name.VIEWER and warehouse is not None:
            raise serializers.ValidationError({"warehouse": ["Only staff belong to a warehouse."]})
        candidate = User(username=attrs["username"], email=attrs["email"])
        try:
            password_validation.validate_password(attrs["password"], user=candidate)
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"password": list(exc.messages)}) from exc
        return attrs


class DemoteSerializer(StrictSerializer):
    """`{user, reassign_to?, warehouse?, reason}`."""

    user = ScopedUserField()
    reassign_to = ScopedUserField(required=False, allow_null=True)
    warehouse = WarehouseField(required=False, allow_null=True)
    reason = serializers.CharField(max_length=2000)
