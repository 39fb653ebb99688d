"""Inventory API: products, stock levels, assign/adjust, the ledger, low-stock thresholds and alerts."""

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, status, viewsets
from rest_framework.filters import OrderingFilter, SearchFilter
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsActiveUser
from core.filters import StableOrderingFilter
from core.http import client_ip
from core.idempotency import idempotent
from core.pagination import LedgerCursorPagination
from core.parsers import ImportFileParser, JSONParser
from core.spreadsheets import csv_lines, csv_response

from . import selectors, services
from .filters import AlertFilter, MovementFilter, ProductFilter, StockCountFilter, StockFilter, ThresholdFilter
from .models import LowStockAlert
from .permissions import (
    ADJUST_PERMISSIONS,
    ALERT_PERMISSIONS,
    ASSIGN_PERMISSIONS,
    COUNT_CANCEL_PERMISSIONS,
    COUNT_DECISION_PERMISSIONS,
    COUNT_OBJECT_PERMISSIONS,
    COUNT_PERMISSIONS,
    LEDGER_PERMISSIONS,
    PRODUCT_IMPORT_PERMISSIONS,
    PRODUCT_PERMISSIONS,
    STOCK_IMPORT_PERMISSIONS,
    THRESHOLD_PERMISSIONS,
)
from .serializers import (
    AdjustStockSerializer,
    AssignStockSerializer,
    CountDecisionSerializer,
    EmptyBodySerializer,
    LowStockAlertSerializer,
    ProductImportResultSerializer,
    ProductImportSerializer,
    ProductSerializer,
    StockCountCreateSerializer,
    StockCountLinesSerializer,
    StockCountSerializer,
    StockImportResultSerializer,
    StockImportSerializer,
    StockMovementSerializer,
    StockRowSerializer,
    ThresholdSerializer,
)
from .services import files

ERRORS = {400: OpenApiResponse(description="Validation error (field map) or inactive/invalid input"),
          403: OpenApiResponse(description="permission_denied"),
          409: OpenApiResponse(description="insufficient_stock (with available, requested) or idempotency_key_reused")}


class ProductViewSet(viewsets.ModelViewSet):
    """`/api/products/`: the catalogue; admins and managers add and change products."""

    serializer_class = ProductSerializer
    permission_classes = PRODUCT_PERMISSIONS
    filterset_class = ProductFilter
    search_fields = ["sku", "name"]
    ordering_fields = ["sku", "name", "created_at"]
    ordering = ["sku"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return selectors.products_for(self.request.user).order_by("sku", "id")

    def perform_create(self, serializer):
        serializer.instance = services.create_product(actor=self.request.user, ip=client_ip(self.request),
                                                      **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.update_product(actor=self.request.user, product=serializer.instance,
                                                      ip=client_ip(self.request), **serializer.validated_data)


class StockListView(generics.ListAPIView):
    """`/api/stocks/`: one row per product per warehouse with its threshold and whether it is low."""

    serializer_class = StockRowSerializer
    permission_classes = [IsActiveUser]
    filter_backends = [DjangoFilterBackend, SearchFilter, StableOrderingFilter]
    filterset_class = StockFilter
    search_fields = ["product__sku", "product__name"]
    ordering_fields = ["quantity", "updated_at", "sku", "product__sku"]  # the product's SKU, by either name
    ordering = ["warehouse_id", "product_id"]  # the (warehouse, product) index: fast on a million rows

    def get_queryset(self):
        return selectors.stock_levels_for(self.request.user).order_by("warehouse_id", "product_id")


class _StockOperationView(APIView):
    """A stock operation: validate the strict body, call the stock service, answer with the stock row."""

    input_serializer: type
    success_status: int

    def _respond(self, stock):
        row = selectors.stock_row_for(self.request.user, pk=stock.pk)
        return Response(StockRowSerializer(row).data, status=self.success_status)

    def _validated(self, request) -> dict:
        serializer = self.input_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


class AssignStockView(_StockOperationView):
    """`POST /api/stocks/assign/`: add stock to a warehouse the user manages."""

    permission_classes = ASSIGN_PERMISSIONS
    input_serializer = AssignStockSerializer
    success_status = status.HTTP_201_CREATED

    @extend_schema(request=AssignStockSerializer,
                   responses={201: StockRowSerializer, **ERRORS})
    @idempotent
    def post(self, request):
        data = self._validated(request)
        stock = services.assign_stock(actor=request.user, warehouse=data["warehouse"], product=data["product"],
                                      quantity=data["quantity"], note=data["note"], ip=client_ip(request))
        return self._respond(stock)


class AdjustStockView(_StockOperationView):
    """`POST /api/stocks/adjust/`: count, damage, loss, found, return or receipt in a warehouse the user operates."""

    permission_classes = ADJUST_PERMISSIONS
    input_serializer = AdjustStockSerializer
    success_status = status.HTTP_200_OK

    @extend_schema(request=AdjustStockSerializer,
                   responses={200: StockRowSerializer, **ERRORS})
    @idempotent
    def post(self, request):
        data = self._validated(request)
        stock = services.adjust_stock(actor=request.user, warehouse=data["warehouse"], product=data["product"],
                                      delta=data["delta"], reason=data["reason"], note=data["note"],
                                      ip=client_ip(request))
        return self._respond(stock)


class ChangeFeedCursorPagination(LedgerCursorPagination):
    """Newest first; with `?after=<id>` oldest first, so a client can follow the ledger as it grows."""

    def get_ordering(self, request, queryset, view):
        if "after" in request.query_params:
            return ("id",)
        return super().get_ordering(request, queryset, view)


class StockMovementListView(generics.ListAPIView):
    """`/api/stock-movements/`: the append-only ledger of the warehouses the user operates."""

    serializer_class = StockMovementSerializer
    permission_classes = LEDGER_PERMISSIONS
    pagination_class = ChangeFeedCursorPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = MovementFilter

    def get_queryset(self):
        return selectors.movements_for(self.request.user)


class ThresholdViewSet(viewsets.ModelViewSet):
    """`/api/low-stock-thresholds/`: read by everyone; written by admins and the warehouse's manager."""

    serializer_class = ThresholdSerializer
    permission_classes = THRESHOLD_PERMISSIONS
    filterset_class = ThresholdFilter
    ordering_fields = ["threshold", "id"]
    ordering = ["warehouse_id", "product_id"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return selectors.thresholds_for(self.request.user).order_by("warehouse_id", "product_id", "id")

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.set_threshold(actor=self.request.user, warehouse=data["warehouse"],
                                                     product=data["product"], threshold=data["threshold"],
                                                     ip=client_ip(self.request))

    def perform_update(self, serializer):
        threshold = serializer.validated_data.get("threshold", serializer.instance.threshold)
        serializer.instance = services.update_threshold(actor=self.request.user, row=serializer.instance,
                                                        threshold=threshold, ip=client_ip(self.request))

    def perform_destroy(self, instance):
        services.delete_threshold(actor=self.request.user, row=instance, ip=client_ip(self.request))


class AlertListView(generics.ListAPIView):
    """`/api/alerts/`: low-stock alerts of the warehouses the user operates, newest first."""

    permission_classes = ALERT_PERMISSIONS
    serializer_class = LowStockAlertSerializer
    filter_backends = [DjangoFilterBackend, OrderingFilter]  # no free-text search here
    filterset_class = AlertFilter
    ordering_fields = ["created_at", "quantity_at_trigger", "id"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self):
        return LowStockAlert.objects.for_user(self.request.user).only(*LowStockAlertSerializer.Meta.fields)


# --- stock counts (SPEC §12) ------------------------------------------------------------------------

COUNT_ERRORS = {
    400: OpenApiResponse(description="Validation error (field map), `invalid` (with `lines`: lines of another "
                                     "count, or not yet counted), `inactive`"),
    403: OpenApiResponse(description="`permission_denied`: visible, but not yours to act on"),
    404: OpenApiResponse(description="`not_found`: unknown or outside your scope"),
    409: OpenApiResponse(description="`invalid_state` (with `status`), `insufficient_stock` (with `product`, "
                                     "`available`, `requested`) or `idempotency_key_reused`"),
}


class _StockCountView(generics.GenericAPIView):
    """Base of the count endpoints: the counts of the warehouses the caller operates (404 outside)."""

    serializer_class = StockCountSerializer
    permission_classes = COUNT_OBJECT_PERMISSIONS

    def get_queryset(self):
        return selectors.stock_counts_for(self.request.user).order_by("-created_at", "-id")

    def _validated(self, serializer_class) -> dict:
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def _respond(self, count, status_code: int = status.HTTP_200_OK) -> Response:
        return Response(self.get_serializer(self.get_queryset().get(pk=count.pk)).data, status=status_code)


class StockCountListCreateView(generics.ListAPIView, _StockCountView):
    """`/api/stock-counts/`: list the counts in scope; open a count (expected = on hand now)."""

    permission_classes = COUNT_PERMISSIONS
    filter_backends = [DjangoFilterBackend, StableOrderingFilter]
    filterset_class = StockCountFilter
    ordering_fields = ["created_at", "submitted_at", "decided_at", "id"]

    @extend_schema(request=StockCountCreateSerializer, responses={201: StockCountSerializer, **COUNT_ERRORS})
    @idempotent
    def post(self, request):
        data = self._validated(StockCountCreateSerializer)
        count = services.open_count(actor=request.user, warehouse=data["warehouse"], products=data.get("products"),
                                    note=data["note"], ip=client_ip(request))
        return self._respond(count, status.HTTP_201_CREATED)


class StockCountDetailView(generics.RetrieveAPIView, _StockCountView):
    """`/api/stock-counts/{id}/`: one count in scope with its lines."""


class StockCountLinesView(_StockCountView):
    """`PATCH /api/stock-counts/{id}/lines/`: record counted quantities while the count is open."""

    @extend_schema(request=StockCountLinesSerializer, responses={200: StockCountSerializer, **COUNT_ERRORS})
    def patch(self, request, pk):
        count = self.get_object()
        data = self._validated(StockCountLinesSerializer)
        count = services.record_counts(actor=request.user, count_id=count.pk, ip=client_ip(request),
                                       counts={item["line"]: item["counted"] for item in data["lines"]})
        return self._respond(count)


class _StockCountActionView(_StockCountView):
    """`POST /api/stock-counts/{id}/<action>/`: find the count in scope (404), ask the policy (403), act.

    The service asks the same policy again under the count's row lock.
    """

    input_class: type = EmptyBodySerializer

    def act(self, count, data: dict):
        raise NotImplementedError

    @idempotent
    def post(self, request, pk):
        count = self.get_object()
        data = self._validated(self.input_class)
        return self._respond(self.act(count, data))


@extend_schema_view(post=extend_schema(request=None, responses={200: StockCountSerializer, **COUNT_ERRORS}))
class StockCountSubmitView(_StockCountActionView):
    """Submit an open count (every line counted); applied at once within the warehouse's tolerance."""

    def act(self, count, data):
        return services.submit_count(actor=self.request.user, count_id=count.pk, ip=client_ip(self.request))


@extend_schema_view(post=extend_schema(request=CountDecisionSerializer,
                                       responses={200: StockCountSerializer, **COUNT_ERRORS}))
class StockCountDecisionView(_StockCountActionView):
    """Approve (apply the differences) or reject a submitted count: admin or manager, never its submitter."""

    permission_classes = COUNT_DECISION_PERMISSIONS
    input_class = CountDecisionSerializer

    def act(self, count, data):
        return services.decide_count(actor=self.request.user, count_id=count.pk, decision=data["decision"],
                                     reason=data["reason"], ip=client_ip(self.request))


@extend_schema_view(post=extend_schema(request=None, responses={200: StockCountSerializer, **COUNT_ERRORS}))
class StockCountCancelView(_StockCountActionView):
    """Cancel an open or submitted count (its creator, the warehouse's manager, an admin)."""

    permission_classes = COUNT_CANCEL_PERMISSIONS

    def act(self, count, data):
        return services.cancel_count(actor=self.request.user, count_id=count.pk, ip=client_ip(self.request))


# --- files (SPEC §13) ---------------------------------------------------------------------------------

IMPORT_ERRORS = {
    400: OpenApiResponse(description="`invalid_file` with `errors: [{row, field, message}]` (row 1 is the header; "
                                     "`row: null` for the whole file), a validation error (field map), or "
                                     "`bad_request` for a body over the upload limit"),
    403: OpenApiResponse(description="`permission_denied`"),
    409: OpenApiResponse(description="`idempotency_key_reused`"),
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
    OpenApiTypes.STR, description="sku,name,description,unit,is_active — re-imports unchanged")}))
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
