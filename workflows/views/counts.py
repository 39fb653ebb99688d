"""Stock counts (SPEC §12): open, count, submit, approve or reject, cancel."""

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.response import Response

from core.filters import StableOrderingFilter
from core.http import client_ip
from core.idempotency import idempotent

from .. import selectors, services
from ..filters import StockCountFilter
from ..permissions import (
    COUNT_CANCEL_PERMISSIONS,
    COUNT_DECISION_PERMISSIONS,
    COUNT_OBJECT_PERMISSIONS,
    COUNT_PERMISSIONS,
)
from ..serializers import (
    CountDecisionSerializer,
    EmptySerializer,
    StockCountCreateSerializer,
    StockCountLinesSerializer,
    StockCountSerializer,
)

COUNT_ERRORS = {
    400: OpenApiResponse(description="Validation error (field map), `invalid` (with `lines`: lines of another "
                                     "count, or not yet counted), `inactive`, `lot_required`, `not_lot_tracked` "
                                     "(a found lot)"),
    403: OpenApiResponse(description="`permission_denied`: visible, but not yours to act on"),
    404: OpenApiResponse(description="`not_found`: unknown or outside your scope"),
    409: OpenApiResponse(description="`invalid_state` (with `status`), `insufficient_stock` (with `product`, "
                                     "`available`, `requested`), `lot_mismatch` (a found lot, with `expires_on`) or "
                                     "`idempotency_key_reused`"),
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
        found = [services.FoundLot(product=item["product"], lot=item.get("lot"), counted=item["counted"],
                          **({"expires_on": item["expires_on"]} if "expires_on" in item else {}))
                 for item in data["lines"] if "product" in item]
        counts = {item["line"]: item["counted"] for item in data["lines"] if "line" in item}
        count = services.record_counts(actor=request.user, count_id=count.pk, counts=counts, found=found,
                                       ip=client_ip(request))
        return self._respond(count)


class _StockCountActionView(_StockCountView):
    """`POST /api/stock-counts/{id}/<action>/`: find the count in scope (404), ask the policy (403), act.

    The service asks the same policy again under the count's row lock.
    """

    input_class: type = EmptySerializer

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
