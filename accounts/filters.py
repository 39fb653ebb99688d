"""Query-string filters for users and audit events."""

import django_filters

from core.filters import BaseFilterSet, IdFilter, date_from_filter, date_to_filter

from .models import AuditEvent, Role, User


class UserFilter(BaseFilterSet):
    """`role` (name), `status`, `warehouse` (id)."""

    role = django_filters.ChoiceFilter(field_name="role__name", choices=Role.Name.choices)
    status = django_filters.ChoiceFilter(choices=User.Status.choices)
    warehouse = IdFilter(field_name="warehouse_id")

    class Meta:
        model = User
        fields = ["role", "status", "warehouse"]


class AuditEventFilter(BaseFilterSet):
    """`actor` (id), `action`, `date_from`/`date_to` (inclusive local days)."""

    actor = IdFilter(field_name="actor_id")
    action = django_filters.CharFilter(field_name="action")
    date_from = date_from_filter()
    date_to = date_to_filter()

    class Meta:
        model = AuditEvent
        fields = ["actor", "action", "date_from", "date_to"]
