"""Query-string filters for users and audit events."""

import django_filters
from django import forms

from .models import AuditEvent, Role, User

MAX_ID = 2**63 - 1


class IdFilter(django_filters.Filter):
    """An integer id bounded to the database's range (a huge number is a 400, not an overflow)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class UserFilter(django_filters.FilterSet):
    """`role` (name), `status`, `warehouse` (id)."""

    role = django_filters.ChoiceFilter(field_name="role__name", choices=Role.Name.choices)
    status = django_filters.ChoiceFilter(choices=User.Status.choices)
    warehouse = IdFilter(field_name="warehouse_id")

    class Meta:
        model = User
        fields = ["role", "status", "warehouse"]


class AuditEventFilter(django_filters.FilterSet):
    """`actor` (id), `action`, `date_from`/`date_to` (inclusive dates)."""

    actor = IdFilter(field_name="actor_id")
    action = django_filters.CharFilter(field_name="action")
    date_from = django_filters.DateFilter(field_name="created_at", lookup_expr="date__gte")
    date_to = django_filters.DateFilter(field_name="created_at", lookup_expr="date__lte")

    class Meta:
        model = AuditEvent
        fields = ["actor", "action", "date_from", "date_to"]
