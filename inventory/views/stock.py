"""Stock levels, assign and adjust, the ledger and low-stock alerts."""

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import ISO_8601, generics, status
from rest_framework.filters import OrderingFilter, SearchFilter
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView

from accounts.permissions import IsActiveUser
from core.filters import StableOrderingFilter
from core.http import client_ip
from core.idempotency import idempotent
from core.pagination import LedgerCursorPagination

from .. import feed, selectors, services
from ..filters import (
    AlertFilter,
    MovementFilter,
    StockFilter,
)
from ..models import LowStockAlert
from ..permissions import (
    ADJUST_PERMISSIONS,
    ALERT_PERMISSIONS,
    ASSIGN_PERMISSIONS,
    LEDGER_PERMISSIONS,
)
from ..serializers import (
    AdjustStockSerializer,
    AssignStockSerializer,
    LowStockAlertSerializer,
    StockMovementSerializer,
    StockRowSerializer,
)

ERRORS = {400: OpenApiResponse(description="Validation error (field map) or inactive/invalid input"),
          403: OpenApiResponse(description="permission_denied"),
          409: OpenApiResponse(description="insufficient_stock (with available, requested) or idempotency_key_reused")}


ADJUST_ERRORS = {**ERRORS, 409: OpenApiResponse(
    description="insufficient_stock (with available, requested), stale_quantity (with current) or "
                "idempotency_key_reused")}


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

    def list(self, request, *args, **kwargs):
        """The page as `.values()` rows shaped by `selectors.stock_row` (the serializer's JSON, byte for byte,
        without a serializer and field objects per value); `serializer_class` still describes it in the schema.
        Same queries as before: the count and one page."""
        rows = self.filter_queryset(self.get_queryset()).values(*selectors.STOCK_ROW_FIELDS)
        page = self.paginate_queryset(rows)
        shaped = _row_shaper()
        data = [shaped(values) for values in (page if page is not None else rows)]
        return self.get_paginated_response(data) if page is not None else Response(data)


_UPDATED_AT = StockRowSerializer().fields["updated_at"]


def _row_shaper():
    """`selectors.stock_row` plus `updated_at` as `StockRowSerializer`'s DateTimeField writes it (ISO 8601 in the
    current time zone, `Z` for UTC), with the time zone looked up once per page instead of once per row; any
    other configured format, or a naive value, goes through the field itself."""
    output_format = getattr(_UPDATED_AT, "format", api_settings.DATETIME_FORMAT)
    zone = _UPDATED_AT.default_timezone()

    def when(value):
        if value is None or zone is None or value.tzinfo is None or output_format is None \
                or output_format.lower() != ISO_8601:
            return _UPDATED_AT.to_representation(value)
        text = value.astimezone(zone).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    def shaped(values: dict) -> dict:
        row = selectors.stock_row(values)
        row["updated_at"] = when(row["updated_at"])
        return row

    return shaped


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
        self.lot_arguments = getattr(serializer, "lot_arguments", dict)()
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
                                      quantity=data["quantity"], note=data["note"], ip=client_ip(request),
                                      **self.lot_arguments)
        return self._respond(stock)


class AdjustStockView(_StockOperationView):
    """`POST /api/stocks/adjust/`: count, damage, loss, found, return or receipt in a warehouse the user operates."""

    permission_classes = ADJUST_PERMISSIONS
    input_serializer = AdjustStockSerializer
    success_status = status.HTTP_200_OK

    @extend_schema(request=AdjustStockSerializer,
                   responses={200: StockRowSerializer, **ADJUST_ERRORS})
    @idempotent
    def post(self, request):
        data = self._validated(request)
        stock = services.adjust_stock(actor=request.user, warehouse=data["warehouse"], product=data["product"],
                                      delta=data["delta"], reason=data["reason"], note=data["note"],
                                      expected_quantity=data.get("expected_quantity"), ip=client_ip(request),
                                      **self.lot_arguments)
        return self._respond(stock)


class ChangeFeedCursorPagination(LedgerCursorPagination):
    """Newest first by cursor; with `?after=<id>`, the change feed: oldest first in commit order.

    A feed page's `next` link is the same query with `after` = the page's last id (a keyset on the
    commit-aware position, see `inventory.feed`), so following it or re-polling with the last id
    seen are the same request; `previous` is null. A `cursor` sent with `after` (a feed link from
    before the position existed) continues after the id it holds.
    """

    def paginate_queryset(self, queryset, request, view=None):
        if "after" not in request.query_params:
            self.feed_page = None
            return super().paginate_queryset(queryset, request, view)
        self.page_size = self.get_page_size(request)
        self.base_url = request.build_absolute_uri()
        cursor = self.decode_cursor(request)
        if cursor is not None and cursor.position is not None and not cursor.reverse:
            queryset = feed.rows_after(queryset, int(cursor.position))
        rows = list(queryset.order_by(*feed.FEED_ORDER)[: self.page_size + 1])
        self.has_next = len(rows) > self.page_size
        self.feed_page = rows[: self.page_size]
        return self.feed_page

    def get_next_link(self):
        if self.feed_page is None:
            return super().get_next_link()
        if not self.has_next:
            return None
        url = remove_query_param(self.base_url, self.cursor_query_param)
        return replace_query_param(url, "after", self.feed_page[-1].pk)

    def get_previous_link(self):
        if self.feed_page is None:
            return super().get_previous_link()
        return None


class StockMovementListView(generics.ListAPIView):
    """`/api/stock-movements/`: the append-only ledger of the warehouses the user operates."""

    serializer_class = StockMovementSerializer
    permission_classes = LEDGER_PERMISSIONS
    pagination_class = ChangeFeedCursorPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = MovementFilter

    def get_queryset(self):
        return selectors.movements_for(self.request.user)


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
