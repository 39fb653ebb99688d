"""Input checks shared by the catalogue serializers (warehouse codes, product SKUs, names)."""

from django.db.models import Model, QuerySet
from rest_framework import serializers


def required_text(value: str) -> str:
    """The value stripped of surrounding blanks; blank text is refused."""
    value = value.strip()
    if not value:
        raise serializers.ValidationError("This field may not be blank.")
    return value


def unique_ci_text(value: str, *, queryset: QuerySet, field: str, instance: Model | None, message: str) -> str:
    """A required text that no other row of `queryset` holds in `field`, compared case-insensitively.

    The database's unique index on `Lower(field)` is the guarantee under races; this only gives the
    client a field error instead of a conflict in the common case.
    """
    value = required_text(value)
    taken = queryset.filter(**{f"{field}__iexact": value})
    if instance is not None:
        taken = taken.exclude(pk=instance.pk)
    if taken.exists():
        raise serializers.ValidationError(message)
    return value
