"""The stock-movement report: validate the query, resolve the warehouse scope, render PDF, CSV or JSON."""

import re
import tempfile

from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsActiveUser
from core.errors import NotFound

from . import policies
from .exports import csv_lines
from .pdf import write_report_pdf
from .permissions import CanReadReports
from .selectors import build_report, movement_rows, period_containing
from .serializers import ReportJsonSerializer, ReportQuerySerializer

SPOOL_BYTES = 16 * 1024 * 1024  # PDFs up to this size stay in memory, larger ones go to a temp file


def resolve_warehouses(user, warehouse_id: int | None) -> tuple[list[int] | None, str, str]:
    """(warehouse ids or None for all, filename label, human label) for the user's report scope.

    Admin: the given warehouse or all. Manager and staff: the given warehouse if they operate it
    (else 404); without one, their only warehouse (a manager of several must choose: 400).
    """
    operated = policies.report_warehouses(user)
    if warehouse_id is not None:
        found = operated.filter(pk=warehouse_id).values_list("id", "code", "name").first()
        if found is None:
            raise NotFound("No such warehouse among those you operate.")
        return [found[0]], found[1], f"{found[1]} ({found[2]})"
    if policies.can_report_on_all_warehouses(user):
        return None, "all", "all warehouses"
    mine = list(operated.values_list("id", "code", "name")[:2])
    if not mine:
        raise NotFound("You do not operate any warehouse.")
    if len(mine) > 1:
        raise serializers.ValidationError({"warehouse": ["You operate several warehouses: choose one."]})
    return [mine[0][0]], mine[0][1], f"{mine[0][1]} ({mine[0][2]})"


class StockMovementReportView(APIView):
    """Per product and warehouse: opening, in, out, closing; then every movement (PDF, CSV or JSON)."""

    permission_classes = [IsActiveUser & CanReadReports]

    def perform_content_negotiation(self, request, force=False):
        # `format` is this endpoint's own parameter (pdf/csv/json), not DRF's renderer override;
        # JSON answers and errors are rendered as JSON, files are returned as plain Django responses.
        return JSONRenderer(), JSONRenderer.media_type

    @extend_schema(
        parameters=[ReportQuerySerializer],  # the bounds documented are the bounds checked
        responses={
            (200, "application/pdf"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The report as PDF (default), CSV or JSON: `format`."),
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="One line per movement."),
            (200, "application/json"): OpenApiResponse(ReportJsonSerializer, description="format=json"),
            404: OpenApiResponse(description="`not_found`: no such warehouse among those you operate."),
        },
    )
    def get(self, request):
        query = ReportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        warehouse_ids, file_label, human_label = resolve_warehouses(request.user, params.get("warehouse"))
        period = period_containing(kind=params["period"], day=params.get("date"))
        fmt = params["format"]
        report = build_report(period=period, warehouse_ids=warehouse_ids, warehouse_label=human_label)
        if fmt == "json":
            return Response(report.as_json())
        filename = "stock-movements_{}_{}_{}.{}".format(
            re.sub(r"[^A-Za-z0-9_-]", "-", file_label), period.kind, period.first_day.isoformat(), fmt)
        if fmt == "csv":
            response = StreamingHttpResponse(csv_lines(movement_rows(report)), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="{filename}"'
            return response
        out = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
        write_report_pdf(report, movement_rows(report), out, warehouses=human_label,
                         generated_by=request.user.username,
                         generated_at=timezone.localtime(timezone.now(), period.tz))
        out.seek(0)
        return FileResponse(out, as_attachment=True, filename=filename, content_type="application/pdf")
