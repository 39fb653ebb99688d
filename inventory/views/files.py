"""Files in and out (SPEC §13): CSV imports and streamed CSV exports."""

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics
from rest_framework.filters import SearchFilter
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsActiveUser
from core.filters import StableOrderingFilter
from core.http import client_ip
from core.idempotency import idempotent
from core.parsers import ImportFileParser, JSONParser
from core.spreadsheets import csv_lines, csv_response

from .. import selectors, services
from ..filters import (
    ProductFilter,
    StockFilter,
)
from ..permissions import (
    PRODUCT_IMPORT_PERMISSIONS,
    STOCK_IMPORT_PERMISSIONS,
)
from ..serializers import (
    ProductImportResultSerializer,
    ProductImportSerializer,
    StockImportResultSerializer,
    StockImportSerializer,
)
from ..services import files
from .stock import StockListView

IMPORT_ERRORS = {
    400: OpenApiResponse(description="`invalid_file` with `errors: [{row, field, message}]` (row 1 is the header; "
                                     "`row: null` for the whole file), a validation error (field map), or "
                                     "`bad_request` for a body over the upload limit"),
    403: OpenApiResponse(description="`permission_denied`"),
    409: OpenApiResponse(description="`idempotency_key_reused`, or `conflict` when the rows it changes stayed locked "
                                     "longer than IMPORT_LOCK_TIMEOUT_MS (nothing written; try again)"),
}


class _ImportView(APIView):
    """`POST` multipart `{file, dry_run?, ...}`: refuse an oversized file unread, then call the import service."""

    parser_classes = [ImportFileParser, JSONParser]
    input_serializer: type

    def _upload(self, request) -> tuple[dict, object]:
        serializer = self.input_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        upload = data["file"]
        if upload.size > files.MAX_BYTES:
            raise files.InvalidFile([files.RowError(None, "file", f"The file is larger than "
                                                                  f"{files.MAX_BYTES // (1024 * 1024)} MiB.")])
        return data, upload.chunks()


class ProductImportView(_ImportView):
    """`POST /api/products/import/`: create and update products from a CSV file (admin, manager)."""

    permission_classes = PRODUCT_IMPORT_PERMISSIONS
    input_serializer = ProductImportSerializer

    @extend_schema(request={"multipart/form-data": ProductImportSerializer},
                   responses={200: ProductImportResultSerializer, **IMPORT_ERRORS})
    @idempotent
    def post(self, request):
        data, chunks = self._upload(request)
        result = services.import_products(actor=request.user, binary=chunks, dry_run=data["dry_run"],
                                          ip=client_ip(request))
        return Response(result)


class StockImportView(_ImportView):
    """`POST /api/stocks/import/`: assign or set stock from a CSV file (admin; manager, in their warehouses)."""

    permission_classes = STOCK_IMPORT_PERMISSIONS
    input_serializer = StockImportSerializer

    @extend_schema(request={"multipart/form-data": StockImportSerializer},
                   responses={200: StockImportResultSerializer, **IMPORT_ERRORS})
    @idempotent
    def post(self, request):
        data, chunks = self._upload(request)
        result = services.import_stock(actor=request.user, binary=chunks, mode=data["mode"], dry_run=data["dry_run"],
                                       ip=client_ip(request))
        return Response(result)


class _ExportView(generics.GenericAPIView):
    """A streamed CSV of a list's rows, with the list's filters; errors stay JSON."""

    permission_classes = [IsActiveUser]
    pagination_class = None

    def perform_content_negotiation(self, request, force=False):
        # The file is a plain Django response; what DRF renders here (errors) is JSON.
        return JSONRenderer(), JSONRenderer.media_type


@extend_schema_view(get=extend_schema(responses={(200, "text/csv"): OpenApiResponse(
    OpenApiTypes.STR, description="sku,name,description,unit,is_active,tracking — re-imports unchanged")}))
class ProductExportView(_ExportView):
    """`GET /api/products/export/`: the catalogue as CSV in the import's columns (filters `search`, `is_active`)."""

    filter_backends = [DjangoFilterBackend, SearchFilter]
    filterset_class = ProductFilter
    search_fields = ["sku", "name"]

    def get_queryset(self):
        return selectors.products_for(self.request.user).order_by("sku", "id")

    def get(self, request):
        rows = files.product_export_rows(self.filter_queryset(self.get_queryset()))
        return csv_response("products.csv", csv_lines(files.PRODUCT_COLUMNS, rows, text_columns=(0, 1, 2, 3)))


@extend_schema_view(get=extend_schema(responses={(200, "text/csv"): OpenApiResponse(
    OpenApiTypes.STR, description="warehouse_code,sku,product,quantity,reserved,available,incoming,threshold — "
                                  "re-imports unchanged with mode=set")}))
class StockExportView(_ExportView):
    """`GET /api/stocks/export/`: the rows `GET /api/stocks/` lists, with its filters and ordering, as CSV."""

    filter_backends = [DjangoFilterBackend, SearchFilter, StableOrderingFilter]
    filterset_class = StockFilter
    search_fields = StockListView.search_fields
    ordering_fields = StockListView.ordering_fields
    ordering = StockListView.ordering

    def get_queryset(self):
        return selectors.stock_levels_for(self.request.user).order_by("warehouse_id", "product_id")

    def get(self, request):
        rows = files.stock_export_rows(self.filter_queryset(self.get_queryset()))
        return csv_response("stocks.csv", csv_lines(files.STOCK_EXPORT_COLUMNS, rows, text_columns=(0, 1, 2)))
