"""Query-string filters every list shares: bounded ids, strict booleans, local-day date ranges, stable ordering.

A bad value is a 400 (django-filter's field map), never a silently ignored filter or a database error; the
OpenAPI parameters state the same bounds (`FilterBoundsSchema`), read from each filter's own arguments.
"""

import datetime

import django_filters
from django import forms
from django.utils import timezone
from drf_spectacular.contrib.django_filters import DjangoFilterExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework.filters import OrderingFilter

# The largest id a 64-bit primary key can hold: a bigger number is a 400, not an overflow.
MAX_ID = 2**63 - 1


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(django_filters.NumberFilter):
    """A positive integer id (a decimal, a huge value or text is a 400)."""

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


def start_of_local_day(day: datetime.date) -> datetime.datetime:
    """Midnight of `day` in the project's time zone."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


class BaseFilterSet(django_filters.FilterSet):
    """Base of every filter set: `date_from`/`date_to` helpers over `created_at` in local days (inclusive)."""

    # Days at the ends of the calendar would overflow once shifted to UTC: they mean "no bound".
    def filter_date_from(self, queryset, name, value):
        if value <= datetime.date.min + datetime.timedelta(days=1):
            return queryset
        return queryset.filter(created_at__gte=start_of_local_day(value))

    def filter_date_to(self, queryset, name, value):
        if value >= datetime.date.max - datetime.timedelta(days=1):
            return queryset
        return queryset.filter(created_at__lt=start_of_local_day(value + datetime.timedelta(days=1)))


def date_from_filter() -> django_filters.DateFilter:
    """`date_from=YYYY-MM-DD`: created on or after that local day."""
    return django_filters.DateFilter(method="filter_date_from")


def date_to_filter() -> django_filters.DateFilter:
    """`date_to=YYYY-MM-DD`: created on or before that local day."""
    return django_filters.DateFilter(method="filter_date_to")


class StableOrderingFilter(OrderingFilter):
    """`?ordering=` with the primary key as the last tie-breaker, so pages never repeat or skip rows."""

    def get_ordering(self, request, queryset, view):
        ordering = list(super().get_ordering(request, queryset, view) or [])
        if ordering and not {"id", "-id", "pk", "-pk"} & set(ordering):
            ordering.append("id")
        return ordering


# A filter argument that the form field enforces, and the JSON Schema keyword that says the same, by type.
_BOUNDS = {
    "integer": {"min_value": "minimum", "max_value": "maximum"},
    "number": {"min_value": "minimum", "max_value": "maximum"},
    "string": {"min_length": "minLength", "max_length": "maxLength"},
}


class FilterBoundsSchema(DjangoFilterExtension):
    """drf-spectacular's django-filter parameters, with the bounds each filter's form field enforces.

    `IdFilter()` is documented as `minimum: 1, maximum: MAX_ID`, `IdFilter(min_value=0)` as `minimum: 0`,
    `CharFilter(max_length=100)` as `maxLength: 100`: one definition, the filter's arguments, for both.
    """

    priority = 1

    def resolve_filter_field(self, auto_schema, model, filterset_class, field_name, filter_field):
        parameters = super().resolve_filter_field(auto_schema, model, filterset_class, field_name, filter_field)
        for parameter in parameters:
            schema = parameter["schema"]
            for argument, keyword in _BOUNDS.get(schema.get("type"), {}).items():
                if filter_field.extra.get(argument) is not None:
                    schema[keyword] = filter_field.extra[argument]
            if schema.get("type") == "integer" and schema.get("maximum", 0) > 2**31 - 1:
                schema["format"] = "int64"
        return parameters
