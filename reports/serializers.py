"""Query parameters of the stock-movement report."""

from datetime import date

from rest_framework import serializers

from core.filters import MAX_ID

from .selectors import PERIODS

FORMATS = ("pdf", "csv", "json")
# Periods must stay inside what datetimes (and their time-zone conversions) can represent.
FIRST_DATE, LAST_DATE = date(1900, 1, 1), date(9998, 12, 31)


class ReportQuerySerializer(serializers.Serializer):
    """`period` (daily default), `date` (today default), `warehouse` (optional id), `format` (pdf default)."""

    period = serializers.ChoiceField(choices=PERIODS, default="daily", help_text="Default daily.", error_messages={
        "invalid_choice": "Unknown period {input!r}: use daily, weekly or monthly."})
    date = serializers.DateField(
        required=False, input_formats=["%Y-%m-%d"],
        help_text=f"A day of the period (default today, local), {FIRST_DATE} to {LAST_DATE}.",
        error_messages={"invalid": "Not a valid calendar date: use YYYY-MM-DD (e.g. 2026-02-28)."})
    warehouse = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID,
                                         help_text="Optional for admins (all) and single-warehouse users.")
    format = serializers.ChoiceField(choices=FORMATS, default="pdf", help_text="Default pdf.", error_messages={
        "invalid_choice": "Unknown format {input!r}: use pdf, csv or json."})

    def validate_date(self, value: date) -> date:
        if not FIRST_DATE <= value <= LAST_DATE:
            raise serializers.ValidationError(f"The date must be between {FIRST_DATE} and {LAST_DATE}.")
        return value


class ReportPeriodSerializer(serializers.Serializer):
    """The period: local start (inclusive) and end (exclusive) with their UTC offsets, and the zone name."""

    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    time_zone = serializers.CharField()


class ReportRowSerializer(serializers.Serializer):
    """One product in one warehouse: opening + in − out = closing."""

    warehouse = serializers.IntegerField()
    product = serializers.IntegerField()
    sku = serializers.CharField()
    opening = serializers.IntegerField()
    locals()["in"] = serializers.IntegerField()  # "in" is a Python keyword; fields keep declaration order
    out = serializers.IntegerField()
    closing = serializers.IntegerField()


class ReportJsonSerializer(serializers.Serializer):
    """`format=json`: the summary without the movement list."""

    period = ReportPeriodSerializer()
    rows = ReportRowSerializer(many=True)
    movement_count = serializers.IntegerField()
