"""Query filters of the warehouse list, and an id filter shared by the catalogue's lists."""

import django_filters
from django import forms

from .models import Warehouse

MAX_ID = 2**63 - 1


class IdFilter(django_filters.NumberFilter):
    """An integer id (bounded, so a huge or fractional value is a 400, never a database error)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class _StrictBooleanField(forms.Field):
    def to_python(self, value):
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text in ("true", "1", "yes"):
            return True
        if text in ("false", "0", "no"):
            return False
        raise forms.ValidationError("Enter true or false.", code="invalid")


class BooleanFilter(django_filters.BooleanFilter):
    """`true`/`false` (also 1/0, yes/no); anything else is a 400 rather than silently ignored."""

    field_class = _StrictBooleanField


class WarehouseFilter(django_filters.FilterSet):
    """`is_active=true|false`, `manager=<user id>`."""

    manager = IdFilter(field_name="manager_id")
    is_active = BooleanFilter()

    class Meta:
        model = Warehouse
        fields = ["is_active", "manager"]
