"""Input checks shared by the catalogue serializers (warehouse codes, product SKUs, names)."""

from django.db.models import Model, QuerySet
from rest_framework import serializers

from core.identity import check_identifier, identity_key


def required_text(value: str) -> str:
    """The value stripped of surrounding blanks; blank text is refused."""
    value = value.strip()
    if not value:
        raise serializers.ValidationError("This field may not be blank.")
    return value


def unique_ci_text(value: str, *, queryset: QuerySet, field: str, instance: Model | None, message: str) -> str:
    """A required text that no other row of `queryset` holds in `field`, compared by identity key.

    Two values are the same when their `core.identity.identity_key` (NFKC + casefold) is: `ＢＯＬＴ-1`
    is `bolt-1`. Text mixing Latin, Cyrillic or Greek letters is refused. The model's unique
    `<field>_key` column is the guarantee under races; this only gives the client a field error
    instead of a conflict in the common case.
    """
    value = check_identifier(required_text(value))
    taken = queryset.filter(**{f"{field}_key": identity_key(value)})
    if instance is not None:
        taken = taken.exclude(pk=instance.pk)
    if taken.exists():
        raise serializers.ValidationError(message)
    return value
