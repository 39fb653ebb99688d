"""Inventory API: products, stock levels, assign/adjust, the ledger, low-stock thresholds and alerts."""

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter, SearchFilter
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsActiveUser
from core.filters import StableOrderingFilter
from core.http import client_ip
from core.idempotency import idempotent
from core.pagination import LedgerCursorPagination

from . import selectors, services
from .filters import AlertFilter, MovementFilter, ProductFilter, ReservationFilter, StockFilter, ThresholdFilter
from .models import LowStockAlert
from .permissions import (
    ADJUST_PERMISSIONS,
    ALERT_PERMISSIONS,
    ASSIGN_PERMISSIONS,
    LEDGER_PERMISSIONS,
    PRODUCT_PERMISSIONS,
    RESERVATION_PERMISSIONS,
    THRESHOLD_PERMISSIONS,
)
from .serializers import (
    AdjustStockSerializer,
    AssignStockSerializer,
    FulfilSerializer,
    LowStockAlertSerializer,
    ProductSerializer,
    ReleaseSerializer,
    ReservationSerializer,
    ReserveSerializer,
    StockMovementSerializer,
    StockRowSerializer,
    ThresholdSerializer,
)

ERRORS = {400: OpenApiResponse(description="Validation error (field map) or inactive/invalid input"),
          403: OpenApiResponse(description="permission_denied"),
          409: OpenApiResponse(description="insufficient_stock (with available, requested) or idempotency_key_reused")}
ADJUST_ERRORS = {**ERRORS, 409: OpenApiResponse(
    description="insufficient_stock (with available, requested), stale_quantity (with current) or "
                "idempotency_key_reused")}
RESERVE_ERRORS = {400: OpenApiResponse(description="Validation error (field map), inactive, invalid_quantity"),
                  403: OpenApiResponse(description="permission_denied"),
                  409: OpenApiResponse(description="insufficient_stock (with available, requested) or "
                                                   "idempotency_key_reused")}
RESERVATION_ACTION_ERRORS = {
    400: OpenApiResponse(description="Validation error (field map); invalid_quantity (more than reserved); inactive"),
    403: OpenApiResponse(description="permission_denied"),
    404: OpenApiResponse(description="not_found (unknown, or not in the caller's warehouses)"),
    409: OpenApiResponse(description="not_active (with status) or idempotency_key_reused"),
}


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
                   responses={200: StockRowSerializer, **ADJUST_ERRORS})
    @idempotent
    def post(self, request):
        data = self._validated(request)
        stock = services.adjust_stock(actor=request.user, warehouse=data["warehouse"], product=data["product"],
                                      delta=data["delta"], reason=data["reason"], note=data["note"],
                                      expected_quantity=data.get("expected_quantity"), ip=client_ip(request))
        return self._respond(stock)


class ReservationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """`/api/reservations/`: promised units of the warehouses the user operates; reserve, release, fulfil."""

    serializer_class = ReservationSerializer
    permission_classes = RESERVATION_PERMISSIONS
    filterset_class = ReservationFilter
    ordering_fields = ["created_at", "expires_at", "id"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self):
        return selectors.reservations_for(self.request.user)

    def _validated(self, serializer_class) -> dict:
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    @extend_schema(request=ReserveSerializer, responses={201: ReservationSerializer, **RESERVE_ERRORS},
                   description="Promise units of a product in a warehouse: `reserved` grows by `quantity`.")
    @idempotent
    def create(self, request):
        data = self._validated(ReserveSerializer)
        reservation = services.reserve_stock(actor=request.user, ip=client_ip(request), **data)
        return Response(ReservationSerializer(reservation).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ReleaseSerializer, responses={200: ReservationSerializer, **RESERVATION_ACTION_ERRORS},
                   description="active → released: the units are free again (`reserved` shrinks).")
    @action(detail=True, methods=["post"])
    @idempotent
    def release(self, request, pk=None):
        reservation = self.get_object()  # out of scope → 404, may not act → 403
        self._validated(ReleaseSerializer)
        reservation = services.release_reservation(actor=request.user, reservation_id=reservation.pk,
                                                   ip=client_ip(request))
        return Response(ReservationSerializer(reservation).data)

    @extend_schema(request=FulfilSerializer, responses={200: ReservationSerializer, **RESERVATION_ACTION_ERRORS},
                   description="Take `quantity` (default all) of the reserved units out of the warehouse (a "
                               "`fulfil` movement); the remainder is released. Status `fulfilled`.")
    @action(detail=True, methods=["post"])
    @idempotent
    def fulfil(self, request, pk=None):
        reservation = self.get_object()
        data = self._validated(FulfilSerializer)
        reservation = services.fulfil_reservation(actor=request.user, reservation_id=reservation.pk,
                                                  quantity=data.get("quantity"), ip=client_ip(request))
        return Response(ReservationSerializer(reservation).data)


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
