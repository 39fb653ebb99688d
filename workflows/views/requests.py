"""Purchase and transfer request endpoints: validate, look up in scope, ask the policy, call one service."""

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from accounts.permissions import IsActiveUser, ReadOnly
from core.errors import NotFound
from core.filters import StableOrderingFilter
from core.http import client_ip
from core.idempotency import idempotent

from .. import selectors, services
from ..filters import PurchaseRequestFilter, TransferRequestFilter
from ..permissions import (
    CanCancelPurchase,
    CanCancelTransfer,
    CanClose,
    CanDecidePurchase,
    CanDecideTransfer,
    CanReceive,
    CanRequestPurchases,
    CanRequestTransfers,
    CanShip,
)
from ..serializers import (
    CancelSerializer,
    CloseSerializer,
    DecisionSerializer,
    EmptySerializer,
    PurchaseRequestCreateSerializer,
    PurchaseRequestSerializer,
    ReceiveSerializer,
    TransferRequestCreateSerializer,
    TransferRequestSerializer,
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


class RequestView(generics.GenericAPIView):
    """Base of the request endpoints: the requests in the caller's scope, shown by `serializer_class`."""

    def get_queryset(self):
        return self.scope(self.request.user)

    @staticmethod
    def scope(user):
        raise NotImplementedError

    def validated(self, serializer_class) -> dict:
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def respond(self, obj, status_code: int = status.HTTP_200_OK) -> Response:
        return Response(self.get_serializer(obj).data, status=status_code)


class RequestListCreateView(generics.ListAPIView, RequestView):
    """List the requests in scope (filters, `?ordering=`); `POST` validates `input_class` and calls `create`."""

    input_class: type[serializers.Serializer]
    filter_backends = [DjangoFilterBackend, StableOrderingFilter]
    ordering_fields = ORDERING

    def create(self, data: dict):
        raise NotImplementedError

    @idempotent
    def post(self, request):
        return self.respond(self.create(self.validated(self.input_class)), status.HTTP_201_CREATED)


class RequestDetailView(generics.RetrieveAPIView, RequestView):
    """One request in scope."""


class RequestActionView(RequestView):
    """`POST {id, ...}`: find the request in scope (404), ask the object policy (403), call `act`.

    The service asks the same policy again under the request's row lock.
    """

    input_class: type[serializers.Serializer]

    def act(self, obj, data: dict):
        raise NotImplementedError

    @idempotent
    def post(self, request):
        data = self.validated(self.input_class)
        obj = self.get_queryset().filter(pk=data["id"]).first()
        if obj is None:
            raise NotFound(f"No {self.get_queryset().model._meta.verbose_name} with id {data['id']}.")
        self.check_object_permissions(request, obj)
        return self.respond(self.act(obj, data))


class RequestDecisionView(RequestActionView):
    """`POST {id, decision, reason?}`: the decision goes to the model's `decide` service."""

    input_class = DecisionSerializer
    decide: staticmethod

    def act(self, obj, data):
        return self.decide(actor=self.request.user, request_id=obj.pk, decision=data["decision"],
                           reason=data["reason"], ip=client_ip(self.request))


@extend_schema_view(post=extend_schema(
    request=PurchaseRequestCreateSerializer, responses={201: PurchaseRequestSerializer, **CREATE_ERRORS},
    description="A viewer asks for stock from a warehouse; the request starts `pending`."))
class PurchaseRequestListCreateView(RequestListCreateView):
    """List the purchase requests in scope; a viewer creates one."""

    permission_classes = [IsActiveUser & (ReadOnly | CanRequestPurchases)]
    serializer_class = PurchaseRequestSerializer
    input_class = PurchaseRequestCreateSerializer
    filterset_class = PurchaseRequestFilter
    scope = staticmethod(selectors.purchase_requests_for)

    def create(self, data):
        return services.create_purchase_request(actor=self.request.user, ip=client_ip(self.request), **data)


class PurchaseRequestDetailView(RequestDetailView):
    """One purchase request in scope."""

    serializer_class = PurchaseRequestSerializer
    scope = staticmethod(selectors.purchase_requests_for)


@extend_schema_view(post=extend_schema(
    request=DecisionSerializer, responses={200: PurchaseRequestSerializer, **DECISION_ERRORS}))
class PurchaseRequestDecisionView(RequestDecisionView):
    """Approve or reject a purchase request (admin; manager or staff of its warehouse)."""

    permission_classes = [IsActiveUser & CanDecidePurchase]
    serializer_class = PurchaseRequestSerializer
    scope = staticmethod(selectors.purchase_requests_for)
    decide = staticmethod(services.decide_purchase_request)


@extend_schema_view(post=extend_schema(
    request=CancelSerializer, responses={200: PurchaseRequestSerializer, **CANCEL_ERRORS}))
class PurchaseRequestCancelView(RequestActionView):
    """The requester cancels their own pending purchase request."""

    permission_classes = [IsActiveUser & CanCancelPurchase]
    serializer_class = PurchaseRequestSerializer
    input_class = CancelSerializer
    scope = staticmethod(selectors.purchase_requests_for)

    def act(self, obj, data):
        return services.cancel_purchase_request(actor=self.request.user, request_id=obj.pk, ip=client_ip(self.request))


@extend_schema_view(post=extend_schema(
    request=TransferRequestCreateSerializer, responses={201: TransferRequestSerializer, **CREATE_ERRORS},
    description="An admin or the manager of either warehouse asks to move stock; starts `pending`."))
class TransferRequestListCreateView(RequestListCreateView):
    """List the transfer requests in scope; an admin or a manager creates one."""

    permission_classes = [IsActiveUser & (ReadOnly | CanRequestTransfers)]
    serializer_class = TransferRequestSerializer
    input_class = TransferRequestCreateSerializer
    filterset_class = TransferRequestFilter
    scope = staticmethod(selectors.transfer_requests_for)

    def create(self, data):
        return services.create_transfer_request(
            actor=self.request.user, source=data["source_warehouse"], destination=data["destination_warehouse"],
            lines=data["lines"], mode=data["mode"], reason=data["reason"], ip=client_ip(self.request),
        )


class TransferRequestDetailView(RequestDetailView):
    """One transfer request in scope."""

    serializer_class = TransferRequestSerializer
    scope = staticmethod(selectors.transfer_requests_for)


@extend_schema_view(post=extend_schema(
    request=DecisionSerializer, responses={200: TransferRequestSerializer, **DECISION_ERRORS}))
class TransferRequestDecisionView(RequestDecisionView):
    """Approve or reject a transfer request (admin only)."""

    permission_classes = [IsActiveUser & CanDecideTransfer]
    serializer_class = TransferRequestSerializer
    scope = staticmethod(selectors.transfer_requests_for)
    decide = staticmethod(services.decide_transfer_request)


TRANSFER_ACTION_ERRORS = {
    400: OpenApiResponse(description="Validation error: DRF's field map; receive: `invalid` (unknown line, a line "
                                     "of another transfer, a lot not shipped on that line, a line both with and "
                                     "without a lot), `not_lot_tracked` (a lot named on a line of a product that is "
                                     "not lot-tracked) or `invalid_quantity` (more than shipped and unaccounted for, "
                                     "on the line or in the named lot); each names the `line`."),
    403: OpenApiResponse(_ERROR, description="`permission_denied`: visible, but not yours to act on (e.g. the "
                                             "source's people receiving, the destination's shipping)."),
    404: OpenApiResponse(_ERROR, description="`not_found`: unknown or outside your scope."),
    409: OpenApiResponse(_ERROR, description="`invalid_state` (with the current `status`), "
                                             "`idempotency_key_reused`, or on ship `insufficient_stock` (units "
                                             "expired since approval: `product`, `available`, `requested`; the "
                                             "transfer stays approved)."),
}


class TransferActionView(generics.GenericAPIView):
    """`POST /api/transfer-requests/{id}/<action>/`: validate, find in scope (404), ask the policy (403), act.

    The service locks the transfer row and asks the same policy again under the lock.
    """

    serializer_class = TransferRequestSerializer
    input_class: type[serializers.Serializer] = EmptySerializer

    def get_queryset(self):
        return selectors.transfer_requests_for(self.request.user)

    def act(self, transfer, data: dict):
        raise NotImplementedError

    @idempotent
    def post(self, request, pk):
        serializer = self.input_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        transfer = self.get_object()
        return Response(self.get_serializer(self.act(transfer, serializer.validated_data)).data)


@extend_schema_view(post=extend_schema(
    request=EmptySerializer, responses={200: TransferRequestSerializer, **TRANSFER_ACTION_ERRORS},
    description="`approved → in_transit` (in-transit mode): ships every line in full; the source's `quantity` and "
                "`reserved` shrink (`transfer_out` movements), the destination's `incoming` grows."))
class TransferShipView(TransferActionView):
    """Ship an approved in-transit transfer (admin; manager and staff of the source)."""

    permission_classes = [IsActiveUser & CanShip]

    def act(self, transfer, data):
        return services.ship_transfer(actor=self.request.user, transfer_id=transfer.pk, ip=client_ip(self.request))


@extend_schema_view(post=extend_schema(
    request=ReceiveSerializer, responses={200: TransferRequestSerializer, **TRANSFER_ACTION_ERRORS},
    description="Record a (partial, repeatable) receipt: accepted units enter the destination's stock "
                "(`transfer_in`), rejected ones only leave `incoming`. Per line, received + rejected may not exceed "
                "shipped. When every line is accounted for the transfer is `received`. A line of a lot-tracked "
                "product: an entry may name `lot` (its code; then the line may appear once per lot) and receives "
                "into that lot; without `lot`, accepted units fill the line's lots in the order shipped, then "
                "rejected units the same way."))
class TransferReceiveView(TransferActionView):
    """Receive units of an in-transit transfer (admin; manager and staff of the destination)."""

    permission_classes = [IsActiveUser & CanReceive]
    input_class = ReceiveSerializer

    @idempotent
    def post(self, request, pk):
        # SPEC §11: the state is checked before the quantities (a receipt on a transfer that is not in
        # transit is 409 whatever its lines hold); the service checks it again under the row lock.
        transfer = self.get_object()
        refused = services.RECEIVABLE(transfer)
        if refused is not None:
            raise refused
        serializer = self.input_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(self.get_serializer(self.act(transfer, serializer.validated_data)).data)

    def act(self, transfer, data):
        return services.receive_transfer(actor=self.request.user, transfer_id=transfer.pk, receipts=data["lines"],
                                         ip=client_ip(self.request))


@extend_schema_view(post=extend_schema(
    request=CloseSerializer, responses={200: TransferRequestSerializer, **TRANSFER_ACTION_ERRORS},
    description="`in_transit → closed`: the units neither received nor rejected are written off as lost in transit "
                "(they leave `incoming`; the line records them as rejected)."))
class TransferCloseView(TransferActionView):
    """Close an in-transit transfer early (admin; manager of the destination)."""

    permission_classes = [IsActiveUser & CanClose]
    input_class = CloseSerializer

    def act(self, transfer, data):
        return services.close_transfer(actor=self.request.user, transfer_id=transfer.pk, reason=data["reason"],
                                       ip=client_ip(self.request))


@extend_schema_view(post=extend_schema(
    request=EmptySerializer, responses={200: TransferRequestSerializer, **TRANSFER_ACTION_ERRORS},
    description="`pending | approved → cancelled`; an approved in-transit transfer's reservation is released. "
                "Once shipped (or approved in direct mode) → 409 `invalid_state`."))
class TransferCancelView(TransferActionView):
    """Cancel a transfer (admin; the requester while pending; the destination's manager for a generated one)."""

    permission_classes = [IsActiveUser & CanCancelTransfer]

    def act(self, transfer, data):
        return services.cancel_transfer(actor=self.request.user, transfer_id=transfer.pk, ip=client_ip(self.request))
