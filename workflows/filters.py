"""Query-string filters for request lists."""

import django_filters
from django import forms
from django.db.models import Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from .models import PurchaseRequest, RequestStatus, TransferRequest

MAX_ID = 2**63 - 1


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(django_filters.NumberFilter):
    """A positive integer id (a decimal or out-of-range value is a 400, not a silent mismatch)."""

    field_class = forms.IntegerField


class PurchaseRequestFilter(django_filters.FilterSet):
    """`?status=` and `?warehouse=`."""

    status = django_filters.ChoiceFilter(choices=RequestStatus.choices)
    warehouse = IdFilter(field_name="warehouse_id", min_value=1, max_value=MAX_ID)

    class Meta:
        model = PurchaseRequest
        fields = ["status", "warehouse"]


class TransferRequestFilter(django_filters.FilterSet):
    """`?status=` and `?warehouse=` (either side of the transfer)."""

    status = django_filters.ChoiceFilter(choices=RequestStatus.choices)
    warehouse = IdFilter(method="filter_warehouse", min_value=1, max_value=MAX_ID)

    class Meta:
        model = TransferRequest
        fields = ["status", "warehouse"]

    def filter_warehouse(self, queryset, name, value):
        return queryset.filter(Q(source_warehouse_id=value) | Q(destination_warehouse_id=value))
