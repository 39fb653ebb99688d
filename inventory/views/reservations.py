"""Reservations (SPEC §10): create, list, read, release, fulfil."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.permissions import IsActiveUser
from core.http import client_ip
from core.idempotency import idempotent

from .. import selectors, services
from ..filters import (
    ReservationFilter,
)
from ..permissions import (
    RESERVATION_PERMISSIONS,
)
from ..serializers import (
    FulfilSerializer,
    ReleaseSerializer,
    ReservationSerializer,
    ReserveSerializer,
)

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


class ReservationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """`/api/reservations/`: promised units of the warehouses the user operates; reserve, release, fulfil."""

    serializer_class = ReservationSerializer
    permission_classes = RESERVATION_PERMISSIONS
    filterset_class = ReservationFilter
    ordering_fields = ["created_at", "expires_at", "id"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self):
        return selectors.reservations_for(self.request.user)

    def get_permissions(self):
        # The role gate guards the list and creation; one reservation is found in the caller's scope or
        # is a 404 (a viewer's scope is empty), as for transfers and counts.
        if self.action in ("list", "create"):
            return super().get_permissions()
        return [IsActiveUser()]

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
