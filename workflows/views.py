"""Purchase and transfer request endpoints: validate, call one service, shape the output."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response

from accounts.audit import client_ip
from accounts.permissions import IsActiveUser, IsAdmin, IsManager, IsViewer, ReadOnly
from inventory_project.api.idempotency import HEADER, idempotent

from . import selectors, services
from .filters import PurchaseRequestFilter, TransferRequestFilter
from .serializers import (
    CancelSerializer,
    DecisionSerializer,
    PurchaseRequestCreateSerializer,
    PurchaseRequestSerializer,
    TransferRequestCreateSerializer,
    TransferRequestSerializer,
)

IDEMPOTENCY_KEY = OpenApiParameter(
    HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="Repeat-safe retries: the same key and body replay the first response.",
)
ORDERING = ["created_at", "decided_at", "quantity", "id"]


def _validated(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class PurchaseRequestListCreateView(generics.ListAPIView):
    """List the purchase requests in scope; a viewer creates one."""

    permission_classes = [IsActiveUser & (ReadOnly | IsViewer)]
    serializer_class = PurchaseRequestSerializer
    filterset_class = PurchaseRequestFilter
    ordering_fields = ORDERING

    def get_queryset(self):
        return selectors.purchase_requests_for(self.request.user)

    @extend_schema(request=PurchaseRequestCreateSerializer, responses={201: PurchaseRequestSerializer},
                   parameters=[IDEMPOTENCY_KEY])
    @idempotent
    def post(self, request):
        data = _validated(PurchaseRequestCreateSerializer, request)
        purchase = services.create_purchase_request(actor=request.user, ip=client_ip(request), **data)
        return Response(PurchaseRequestSerializer(purchase).data, status=status.HTTP_201_CREATED)


class PurchaseRequestDetailView(generics.RetrieveAPIView):
    """One purchase request in scope."""

    serializer_class = PurchaseRequestSerializer

    def get_queryset(self):
        return selectors.purchase_requests_for(self.request.user)


class PurchaseRequestDecisionView(generics.GenericAPIView):
    """Approve or reject a purchase request (admin; manager or staff of its warehouse)."""

    serializer_class = DecisionSerializer

    @extend_schema(request=DecisionSerializer, responses={200: PurchaseRequestSerializer},
                   parameters=[IDEMPOTENCY_KEY])
    @idempotent
    def post(self, request):
        data = _validated(DecisionSerializer, request)
        purchase = services.decide_purchase_request(
            actor=request.user, request_id=data["id"], decision=data["decision"], reason=data["reason"],
            ip=client_ip(request),
        )
        return Response(PurchaseRequestSerializer(purchase).data)


class PurchaseRequestCancelView(generics.GenericAPIView):
    """The requester cancels their own pending purchase request."""

    serializer_class = CancelSerializer

    @extend_schema(request=CancelSerializer, responses={200: PurchaseRequestSerializer}, parameters=[IDEMPOTENCY_KEY])
    @idempotent
    def post(self, request):
        data = _validated(CancelSerializer, request)
        purchase = services.cancel_purchase_request(actor=request.user, request_id=data["id"], ip=client_ip(request))
        return Response(PurchaseRequestSerializer(purchase).data)


class TransferRequestListCreateView(generics.ListAPIView):
    """List the transfer requests in scope; an admin or a manager creates one."""

    permission_classes = [IsActiveUser & (ReadOnly | IsAdmin | IsManager)]
    serializer_class = TransferRequestSerializer
    filterset_class = TransferRequestFilter
    ordering_fields = ORDERING

    def get_queryset(self):
        return selectors.transfer_requests_for(self.request.user)

    @extend_schema(request=TransferRequestCreateSerializer, responses={201: TransferRequestSerializer},
                   parameters=[IDEMPOTENCY_KEY])
    @idempotent
    def post(self, request):
        data = _validated(TransferRequestCreateSerializer, request)
        transfer = services.create_transfer_request(
            actor=request.user, source=data["source_warehouse"], destination=data["destination_warehouse"],
            product=data["product"], quantity=data["quantity"], reason=data["reason"], ip=client_ip(request),
        )
        return Response(TransferRequestSerializer(transfer).data, status=status.HTTP_201_CREATED)


class TransferRequestDetailView(generics.RetrieveAPIView):
    """One transfer request in scope."""

    serializer_class = TransferRequestSerializer

    def get_queryset(self):
        return selectors.transfer_requests_for(self.request.user)


class TransferRequestDecisionView(generics.GenericAPIView):
    """Approve or reject a transfer request (admin only)."""

    serializer_class = DecisionSerializer

    @extend_schema(request=DecisionSerializer, responses={200: TransferRequestSerializer},
                   parameters=[IDEMPOTENCY_KEY])
    @idempotent
    def post(self, request):
        data = _validated(DecisionSerializer, request)
        transfer = services.decide_transfer_request(
            actor=request.user, request_id=data["id"], decision=data["decision"], reason=data["reason"],
            ip=client_ip(request),
        )
        return Response(TransferRequestSerializer(transfer).data)
