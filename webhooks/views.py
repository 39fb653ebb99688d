"""`/api/webhooks/` (SPEC §16): endpoints, their secret's rotation, pings, the delivery log, redelivery."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.http import client_ip
from core.idempotency import idempotent
from workflows.serializers import EmptySerializer  # the one "no body" input, shared (one schema component)

from . import selectors, services
from .models import WebhookDelivery
from .permissions import WEBHOOK_PERMISSIONS
from .serializers import (
    DeliverySerializer,
    EndpointInputSerializer,
    EndpointSerializer,
    EndpointWithSecretSerializer,
    EventSummarySerializer,
    RotateSecretSerializer,
    SecretSerializer,
)

ERRORS = {
    400: OpenApiResponse(description="Validation error (field map); url_not_allowed"),
    403: OpenApiResponse(description="permission_denied (not an admin or manager; a warehouse the manager does not "
                                     "manage; reactivating an owner_changed endpoint without being an admin)"),
    404: OpenApiResponse(description="not_found (unknown, or another manager's endpoint)"),
    409: OpenApiResponse(description="invalid_state (an inactive endpoint; an owner without access) or "
                                     "idempotency_key_reused"),
    503: OpenApiResponse(description="webhooks_not_configured (WEBHOOK_ENCRYPTION_KEYS missing, DEBUG off)"),
}


class WebhookViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Webhook endpoints: an admin's are all, a manager's their own; nobody else has any (403)."""

    serializer_class = EndpointSerializer
    permission_classes = WEBHOOK_PERMISSIONS
    filterset_class = None
    ordering_fields = ["created_at", "id"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self):
        return selectors.endpoints_for(self.request.user)

    def _validated(self, serializer_class, **kwargs) -> dict:
        serializer = serializer_class(data=self.request.data, **kwargs)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    @extend_schema(request=EndpointInputSerializer, responses={201: EndpointWithSecretSerializer, **ERRORS},
                   description="Create an endpoint; the answer holds its `secret` this once (a replay of the "
                               "same Idempotency-Key does not).")
    def create(self, request):
        response = self._create(request)
        secret = getattr(response, "webhook_secret", None)
        if secret is not None:  # never stored for an Idempotency-Key replay: added after the store
            response.data = {**response.data, "secret": secret}
        return response

    @idempotent
    def _create(self, request):
        data = self._validated(EndpointInputSerializer)
        endpoint, secret = services.create_endpoint(actor=request.user, ip=client_ip(request), **data)
        response = Response(EndpointSerializer(selectors.endpoints_for(request.user).get(pk=endpoint.pk)).data,
                            status=status.HTTP_201_CREATED)
        response.webhook_secret = secret
        return response

    @extend_schema(request=EndpointInputSerializer, responses={200: EndpointSerializer, **ERRORS})
    def partial_update(self, request, pk=None):
        endpoint = self.get_object()
        data = self._validated(EndpointInputSerializer, partial=True)
        services.update_endpoint(actor=request.user, endpoint=endpoint, ip=client_ip(request), **data)
        return Response(EndpointSerializer(self.get_queryset().get(pk=endpoint.pk)).data)

    @extend_schema(responses={204: None, **ERRORS})
    def destroy(self, request, pk=None):
        services.delete_endpoint(actor=request.user, endpoint=self.get_object(), ip=client_ip(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=RotateSecretSerializer, responses={200: SecretSerializer, **ERRORS},
                   description="A new secret (shown this once). Deliveries are signed with it and with every secret "
                               "replaced less than 24 hours ago, unless `expire_previous` drops those at once.")
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        endpoint = self.get_object()
        data = self._validated(RotateSecretSerializer)
        secret = services.rotate_secret(actor=request.user, endpoint=endpoint, ip=client_ip(request), **data)
        return Response({"secret": secret})

    @extend_schema(request=EmptySerializer, responses={202: EventSummarySerializer, **ERRORS},
                   description="Queue one `ping` event to this endpoint alone.")
    @action(detail=True, methods=["post"])
    @idempotent
    def ping(self, request, pk=None):
        endpoint = self.get_object()
        self._validated(EmptySerializer)
        event = services.ping(actor=request.user, endpoint=endpoint, ip=client_ip(request))
        return Response(EventSummarySerializer(event).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(parameters=[OpenApiParameter("status", OpenApiTypes.STR, enum=WebhookDelivery.Status.values)],
                   responses={200: DeliverySerializer(many=True), **ERRORS},
                   description="The endpoint's deliveries, newest first; filter `status`.")
    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk=None):
        endpoint = self.get_object()
        wanted = request.query_params.get("status")
        if wanted is not None and wanted not in WebhookDelivery.Status.values:
            choices = ", ".join(WebhookDelivery.Status.values)
            raise serializers.ValidationError({"status": [f"Choose one of {choices}."]})
        page = self.paginate_queryset(selectors.deliveries_of(endpoint, status=wanted))
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)

    @extend_schema(request=EmptySerializer, responses={202: DeliverySerializer, **ERRORS},
                   parameters=[OpenApiParameter("delivery_id", OpenApiTypes.INT, OpenApiParameter.PATH,
                                                description="The delivery to send again.")],
                   description="Queue a new delivery of the same event (same `webhook-id`).")
    @action(detail=True, methods=["post"], url_path=r"deliveries/(?P<delivery_id>\d+)/redeliver")
    @idempotent
    def redeliver(self, request, pk=None, delivery_id=None):
        endpoint = self.get_object()
        self._validated(EmptySerializer)
        delivery = services.redeliver(actor=request.user, endpoint=endpoint, delivery_id=int(delivery_id),
                                      ip=client_ip(request))
        delivery = selectors.deliveries_of(endpoint).get(pk=delivery.pk)
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
