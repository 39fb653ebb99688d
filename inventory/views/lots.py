"""Lots and lot balances (SPEC §14): `/api/lots/` (list, read, create, correct `expires_on`), `/api/stock-lots/`."""

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, mixins, status, viewsets
from rest_framework.response import Response

from core.http import client_ip
from core.idempotency import idempotent

from .. import selectors
from ..filters import LotFilter, StockLotFilter
from ..lots import is_expired, today
from ..permissions import LOT_CORRECT_PERMISSIONS, LOT_CREATE_PERMISSIONS, LOT_READ_PERMISSIONS
from ..serializers import LotCorrectionSerializer, LotCreateSerializer, LotSerializer, StockLotRowSerializer
from ..services import lot_catalogue

LOT_CREATE_ERRORS = {
    400: OpenApiResponse(description="Validation error (field map); not_lot_tracked"),
    403: OpenApiResponse(description="permission_denied"),
    409: OpenApiResponse(description="duplicate_lot or idempotency_key_reused"),
}
LOT_CORRECT_ERRORS = {
    400: OpenApiResponse(description="Validation error (field map): only `expires_on` is accepted"),
    403: OpenApiResponse(description="permission_denied (admins only)"),
    404: OpenApiResponse(description="not_found"),
}


class LotViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """`/api/lots/`: lots of every product (any active user), ordered by `expires_on` (nulls last), then id;
    admins and managers add lots, admins correct a lot's `expires_on`."""

    serializer_class = LotSerializer
    filter_backends = [DjangoFilterBackend]  # the order is the contract's (expires_on nulls last, id)
    filterset_class = LotFilter
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return selectors.lots_for(self.request.user)

    def get_permissions(self):
        if self.action == "create":
            return [permission() for permission in LOT_CREATE_PERMISSIONS]
        if self.action == "partial_update":
            return [permission() for permission in LOT_CORRECT_PERMISSIONS]
        return [permission() for permission in LOT_READ_PERMISSIONS]

    @extend_schema(request=LotCreateSerializer, responses={201: LotSerializer, **LOT_CREATE_ERRORS},
                   description="Add a lot (no units yet) to a lot-tracked product.")
    @idempotent
    def create(self, request):
        serializer = LotCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        lot = lot_catalogue.create_lot(actor=request.user, ip=client_ip(request), **serializer.validated_data)
        return Response(LotSerializer(lot).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=LotCorrectionSerializer, responses={200: LotSerializer, **LOT_CORRECT_ERRORS},
                   description="Correct a mistyped `expires_on` (audited with the old and the new date); expiry "
                               "alerts open or resolve at once.")
    def partial_update(self, request, pk=None):
        lot = self.get_object()
        serializer = LotCorrectionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        lot = lot_catalogue.correct_expiry(actor=request.user, lot=lot, ip=client_ip(request),
                                           expires_on=serializer.validated_data["expires_on"])
        return Response(LotSerializer(lot).data)


class StockLotListView(generics.ListAPIView):
    """`/api/stock-lots/`: one row per lot per warehouse holding units, first-expired-first-out, then warehouse
    code. Two queries per page (the count, the page with its warehouse, product and lot)."""

    serializer_class = StockLotRowSerializer
    permission_classes = LOT_READ_PERMISSIONS
    filter_backends = [DjangoFilterBackend]  # the order is the contract's (FEFO, then warehouse code)
    filterset_class = StockLotFilter

    def get_queryset(self):
        return selectors.stock_lots_for(self.request.user)

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        on = today()
        rows = [stock_lot_row(balance, on=on) for balance in (page if page is not None else queryset)]
        return self.get_paginated_response(rows) if page is not None else Response(rows)


def stock_lot_row(balance, *, on) -> dict:
    """One `/api/stock-lots/` row (`StockLotRowSerializer`'s shape) from a balance with its stock and lot."""
    stock, lot = balance.stock, balance.lot
    return {
        "id": balance.pk,
        "warehouse": {"id": stock.warehouse_id, "code": stock.warehouse.code, "name": stock.warehouse.name},
        "product": {"id": stock.product_id, "sku": stock.product.sku, "name": stock.product.name},
        "lot": {"id": lot.pk, "code": lot.code, "expires_on": lot.expires_on.isoformat() if lot.expires_on else None},
        "quantity": balance.quantity,
        "expired": is_expired(lot.expires_on, on=on),
    }
