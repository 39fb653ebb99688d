"""Warehouse representation and input validation."""

from rest_framework import serializers

from accounts.models import Role, User

from .models import Warehouse


class WarehouseSerializer(serializers.ModelSerializer):
    """`{id, code, name, address, manager, is_active, created_at}`; `manager` is a user id or null."""

    manager = serializers.PrimaryKeyRelatedField(queryset=User.objects.select_related("role"), allow_null=True,
                                                 required=False)

    class Meta:
        model = Warehouse
        fields = ["id", "code", "name", "address", "manager", "is_active", "created_at"]
        read_only_fields = ["id", "created_at"]
        extra_kwargs = {"address": {"required": False, "max_length": 2000}}

    def validate_code(self, value: str) -> str:
        value = value.strip()
        if not value:
            raise serializers.ValidationError("This field may not be blank.")
        taken = Warehouse.objects.filter(code__iexact=value)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise serializers.ValidationError("A warehouse with this code already exists (codes are case-insensitive).")
        return value

    def validate_name(self, value: str) -> str:
        value = value.strip()
        if not value:
            raise serializers.ValidationError("This field may not be blank.")
        return value

    def validate_manager(self, value: User | None) -> User | None:
        if value is not None and not (value.status == User.Status.ACTIVE and value.role.name == Role.Name.MANAGER):
            raise serializers.ValidationError("The manager must be an active user with the manager role.")
        return value
