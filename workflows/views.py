"""Purchase and transfer request endpoints: validate, call one service, shape the output."""

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import filters, generics, serializers, status
from rest_framework.response import Response

from accounts.permissions import IsActiveUser, IsAdmin, IsManager, IsViewer, ReadOnly
from core.http import client_ip
from core.idempotency import HEADER, idempotent

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
_ERROR = inline_serializer("WorkflowError", {
    "detail": serializers.CharField(),
    "code": serializers.CharField(),
    "available": serializers.IntegerField(required=False, help_text="insufficient_stock only"),
    "requested": serializers.IntegerField(required=False, help_text="insufficient_stock only"),
})
CREATE_ERRORS = {
    400: OpenApiResponse(description="Validation error: DRF's field map (unknown or inactive ids, bad quantity)."),
    403: OpenApiResponse(_ERROR, description="`permission_denied`"),
    409: OpenApiResponse(_ERROR, description="`idempotency_key_reused`"),
}
DECISION_ERRORS = {
    400: OpenApiResponse(description="Validation error: DRF's field map; or `inactive` warehouse/product."),
    403: OpenApiResponse(_ERROR, description="`permission_denied`: visible, but not yours to act on."),
    404: OpenApiResponse(_ERROR, description="`not_found`: unknown or outside your scope."),
    409: OpenApiResponse(_ERROR, description="`not_pending`, `insufficient_stock` (with `available`, `requested`) "
                                             "or `idempotency_key_reused`."),
}
CANCEL_ERRORS = {
    **DECISION_ERRORS,
    400: OpenApiResponse(description="Validation error: DRF's field map."),
    403: OpenApiResponse(_ERROR, description="`permission_denied`: only the requester may cancel."),
    409: OpenApiResponse(_ERROR, description="`not_pending` or `idempotency_key_reused`."),
}


def _validated(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class ScopedListView(generics.ListAPIView):
    """A list filtered by its FilterSet and ordered by `?ordering=`; no free-text search."""

    filter_backends = [DjangoFilterBackend, filters.OrderingFilter]
    ordering_fields = ORDERING


class PurchaseRequestListCreateView(ScopedListView):
    """List the purchase requests in scope; a viewer creates one."""

    permission_classes = [IsActiveUser & (ReadOnly | IsViewer)]
    serializer_class = PurchaseRequestSerializer
    filterset_class = PurchaseRequestFilter

    def get_queryset(self):
        return selectors.purchase_requests_for(self.request.user)

    @extend_schema(request=PurchaseRequestCreateSerializer,
                   responses={201: PurchaseRequestSerializer, **CREATE_ERRORS}, parameters=[IDEMPOTENCY_KEY],
                   description="A viewer asks for stock from a warehouse; the request starts `pending`.")
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

    @extend_schema(request=DecisionSerializer, responses={200: PurchaseRequestSerializer, **DECISION_ERRORS},
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

    @extend_schema(request=CancelSerializer, responses={200: PurchaseRequestSerializer, **CANCEL_ERRORS},
                   parameters=[IDEMPOTENCY_KEY])
    @idempotent
    def post(self, request):
        data = _validated(CancelSerializer, request)
        purchase = services.cancel_purchase_request(actor=request.user, request_id=data["id"], ip=client_ip(request))
        return Response(PurchaseRequestSerializer(purchase).data)


class TransferRequestListCreateView(ScopedListView):
    """List the transfer requests in scope; an admin or a manager creates one."""

    permission_classes = [IsActiveUser & (ReadOnly | IsAdmin | IsManager)]
    serializer_class = TransferRequestSerializer
    filterset_class = TransferRequestFilter

    def get_queryset(self):
        return selectors.transfer_requests_for(self.request.user)

    @extend_schema(request=TransferRequestCreateSerializer,
                   responses={201: TransferRequestSerializer, **CREATE_ERRORS}, parameters=[IDEMPOTENCY_KEY],
                   description="An admin or the manager of either warehouse asks to move stock; starts `pending`.")
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

    @extend_schema(request=DecisionSerializer, responses={200: TransferRequestSerializer, **DECISION_ERRORS},
                   parameters=[IDEMPOTENCY_KEY])
    @idempotent
    def post(self, request):
        data = _validated(DecisionSerializer, request)
        transfer = services.decide_transfer_request(
            actor=request.user, request_id=data["id"], decision=data["decision"], reason=data["reason"],
            ip=client_ip(request),
        )
        return Response(TransferRequestSerializer(transfer).data)
