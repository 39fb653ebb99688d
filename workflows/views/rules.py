"""Reorder rules (SPEC §15): list, read, create, change, delete, evaluate now."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.http import client_ip
from core.idempotency import idempotent

from .. import selectors, services
from ..filters import ReorderRuleFilter
from ..permissions import RULE_PERMISSIONS
from ..serializers import (
    EmptySerializer,
    ReorderRuleInputSerializer,
    ReorderRulePatchSerializer,
    ReorderRuleSerializer,
)

WRITE_ERRORS = {
    400: OpenApiResponse(description="Validation error (field map: unknown or inactive ids, bounds, a change of "
                                     "warehouse or product); `same_warehouse` as `{detail, code}`."),
    403: OpenApiResponse(description="`permission_denied`: a viewer, staff, or another warehouse's manager."),
    404: OpenApiResponse(description="`not_found`: unknown or outside your warehouses."),
    409: OpenApiResponse(description="`duplicate_rule`, `rule_cycle` or `idempotency_key_reused`."),
}


@extend_schema_view(
    partial_update=extend_schema(request=ReorderRulePatchSerializer,
                                 responses={200: ReorderRuleSerializer, **WRITE_ERRORS},
                                 description="Change a rule (warehouse and product are fixed); lifts a hold and "
                                             "evaluates it at once."),
    destroy=extend_schema(responses={204: None, **WRITE_ERRORS}),
)
class ReorderRuleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """`/api/reorder-rules/`: rules of the warehouses the user operates; admins and the warehouse's manager write."""

    serializer_class = ReorderRuleSerializer
    permission_classes = RULE_PERMISSIONS
    filterset_class = ReorderRuleFilter
    ordering_fields = ["created_at", "id"]
    ordering = ["warehouse_id", "product_id", "id"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return selectors.reorder_rules_for(self.request.user)

    def _validated(self, instance=None) -> dict:
        serializer_class = ReorderRuleInputSerializer if instance is None else ReorderRulePatchSerializer
        serializer = serializer_class(instance, data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    @extend_schema(request=ReorderRuleInputSerializer, responses={201: ReorderRuleSerializer, **WRITE_ERRORS},
                   description="Create a rule; it is evaluated at once (and may create its transfer request).")
    @idempotent
    def create(self, request):
        rule = services.create_rule(actor=request.user, ip=client_ip(request), **self._validated())
        return Response(ReorderRuleSerializer(rule).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        rule = self.get_object()  # out of scope → 404, may not write → 403
        changes = self._validated(rule)
        rule = services.update_rule(actor=request.user, rule_id=rule.pk, changes=changes, ip=client_ip(request))
        return Response(ReorderRuleSerializer(rule).data)

    def destroy(self, request, pk=None):
        rule = self.get_object()
        services.delete_rule(actor=request.user, rule_id=rule.pk, ip=client_ip(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=EmptySerializer, responses={200: ReorderRuleSerializer, **WRITE_ERRORS},
                   description="Evaluate the rule now (lifts a hold); `last_evaluation` is this evaluation.")
    @action(detail=True, methods=["post"])
    @idempotent
    def evaluate(self, request, pk=None):
        rule = self.get_object()
        serializer = EmptySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rule = services.evaluate_rule(actor=request.user, rule_id=rule.pk, ip=client_ip(request))
        return Response(ReorderRuleSerializer(rule).data)
