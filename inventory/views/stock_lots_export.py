"""`GET /api/stock-lots/export/` (SPEC §14): the lot balances as CSV, with the filters of `/api/stock-lots/`."""

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view

from core.spreadsheets import csv_lines, csv_response

from ..lot_balances import StockLotFilter, stock_lots_for
from ..services import files
from .files import _ExportView


@extend_schema_view(get=extend_schema(responses={(200, "text/csv"): OpenApiResponse(
    OpenApiTypes.STR, description="warehouse_code,sku,lot,expires_on,quantity — one line per lot per warehouse "
                                  "holding units; re-imports unchanged through POST /api/stocks/import/ with "
                                  "mode=set")}))
class StockLotExportView(_ExportView):
    """`GET /api/stock-lots/export/`: lot balances above 0 (any active user), first-expired first, then warehouse
    code; filters `warehouse`, `product`, `lot`, `expired`, `expires_before`."""

    filter_backends = [DjangoFilterBackend]
    filterset_class = StockLotFilter

    def get_queryset(self):
        return stock_lots_for(self.request.user)

    def get(self, request):
        rows = files.stock_lot_export_rows(self.filter_queryset(self.get_queryset()))
        return csv_response("stock-lots.csv", csv_lines(files.STOCK_LOT_EXPORT_COLUMNS, rows, text_columns=(0, 1, 2)))
