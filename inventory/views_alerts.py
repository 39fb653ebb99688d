"""The low-stock alerts API: `GET /api/alerts/` (admin; manager and staff of the warehouse)."""

import django_filters
from django import forms
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import filters, generics, serializers

from accounts.permissions import IsActiveUser, IsAdmin, IsManager, IsStaff

from .models import LowStockAlert

MAX_ID = 2**63 - 1


class IdFilter(django_filters.NumberFilter):
    """An integer id (not a decimal), bounded so huge values are a 400, not a database overflow."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class AlertFilter(django_filters.FilterSet):
    """`status` (open/resolved; anything else is a 400) and `warehouse` (an id)."""

    status = django_filters.ChoiceFilter(choices=LowStockAlert.Status.choices)
    warehouse = IdFilter(field_name="warehouse_id")

    class Meta:
        model = LowStockAlert
        fields = ["status", "warehouse"]


class LowStockAlertSerializer(serializers.ModelSerializer):
    """A low-stock alert; `product` and `warehouse` are ids."""

    class Meta:
        model = LowStockAlert
        fields = ["id", "product", "warehouse", "quantity_at_trigger", "threshold", "status", "created_at",
                  "resolved_at"]
        read_only_fields = fields


class AlertListView(generics.ListAPIView):
    """Low-stock alerts of the warehouses the user operates, newest first."""

    permission_classes = [IsActiveUser & (IsAdmin | IsManager | IsStaff)]
    serializer_class = LowStockAlertSerializer
    filter_backends = [DjangoFilterBackend, filters.OrderingFilter]  # no free-text search here
    filterset_class = AlertFilter
    ordering_fields = ["created_at", "quantity_at_trigger", "id"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self):
        return LowStockAlert.objects.for_user(self.request.user).only(*LowStockAlertSerializer.Meta.fields)
