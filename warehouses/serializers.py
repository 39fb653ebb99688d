"""Warehouse representation and input validation."""

from rest_framework import serializers

from accounts.models import User
from accounts.policies import is_manager
from core.serializers import StrictModelSerializer

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
