"""DRF permission classes of the reports, backed by `reports.policies`."""

from accounts.permissions import policy_permission

from . import policies

CanReadReports = policy_permission(
    "CanReadReports", user=policies.can_read_reports,
    doc="Admins, managers and staff (a warehouse they do not operate is a 404).")
