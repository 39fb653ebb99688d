"""A lot's recall (SPEC §14): `GET /api/lots/{id}/trace/` and `GET /api/lots/{id}/consumers/`.

Admins see everything; managers and staff the parts in their warehouses (200 with empty lists when none);
viewers are refused (403). A lot is catalogue data: an unknown id is a 404 for everyone allowed.
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from inventory.lots import Lot
from inventory.models import StockMovement
from inventory.permissions import LOT_TRACE_PERMISSIONS

from .. import recall

ERRORS = {403: OpenApiResponse(description="permission_denied (viewers)"),
          404: OpenApiResponse(description="not_found")}


class _OnHandSerializer(serializers.Serializer):
    warehouse = serializers.IntegerField()
    quantity = serializers.IntegerField()


class _InTransitSerializer(serializers.Serializer):
    transfer_request = serializers.IntegerField()
    quantity = serializers.IntegerField()


class _ConsumedSerializer(serializers.Serializer):
    reference_type = serializers.CharField(allow_null=True)
    reason = serializers.CharField(allow_null=True)
    quantity = serializers.IntegerField()


class LotTraceSerializer(serializers.Serializer):
    """`{lot, on_hand: [{warehouse, quantity}], in_transit: [{transfer_request, quantity}], consumed:
    [{reference_type, reason, quantity}]}`."""

    lot = serializers.IntegerField()
    on_hand = _OnHandSerializer(many=True)
    in_transit = _InTransitSerializer(many=True)
    consumed = _ConsumedSerializer(many=True)


class LotConsumerSerializer(serializers.Serializer):
    """`{reference_type, reference_id, reason, quantity, last_at}`: one document through which units left."""

    reference_type = serializers.CharField(allow_null=True)
    reference_id = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField(allow_null=True)
    quantity = serializers.IntegerField()
    last_at = serializers.DateTimeField()


class _ConsumerQuerySerializer(serializers.Serializer):
    reference_type = serializers.ChoiceField(choices=StockMovement.ReferenceType.choices, required=False)


class LotTraceView(APIView):
    """`GET /api/lots/{id}/trace/`: where the lot's units are and how many left the books, per kind of document."""

    permission_classes = LOT_TRACE_PERMISSIONS

    @extend_schema(responses={200: LotTraceSerializer, **ERRORS})
    def get(self, request, pk: int):
        lot = get_object_or_404(Lot.objects.for_user(request.user), pk=pk)
        return Response(LotTraceSerializer(recall.trace(lot, request.user)).data)


class LotConsumersView(generics.ListAPIView):
    """`GET /api/lots/{id}/consumers/`: one row per document through which units of the lot left the books,
    newest first, paginated (`reference_type` filter)."""

    permission_classes = LOT_TRACE_PERMISSIONS
    serializer_class = LotConsumerSerializer
    filter_backends = []

    @extend_schema(parameters=[OpenApiParameter("reference_type", enum=StockMovement.ReferenceType.values)],
                   responses={200: LotConsumerSerializer(many=True), **ERRORS})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        query = _ConsumerQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        lot = get_object_or_404(Lot.objects.for_user(self.request.user), pk=self.kwargs["pk"])
        return recall.consumers(lot, self.request.user, reference_type=query.validated_data.get("reference_type"))

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        rows = [recall.consumer_row(values) for values in page]
        return self.get_paginated_response(LotConsumerSerializer(rows, many=True).data)
