"""Warehouses API: every active user reads the catalogue; admins create, change and delete."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.response import Response

from core.http import client_ip

from . import services
from .filters import WarehouseFilter
from .models import Warehouse
from .permissions import WAREHOUSE_PERMISSIONS
from .serializers import WarehouseSerializer


class WarehouseViewSet(viewsets.ModelViewSet):
    """`/api/warehouses/`: list and read for everyone; POST, PATCH, DELETE for admins."""

    serializer_class = WarehouseSerializer
    permission_classes = WAREHOUSE_PERMISSIONS
    filterset_class = WarehouseFilter
    search_fields = ["code", "name"]
    ordering_fields = ["code", "name", "created_at"]
    ordering = ["code"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return Warehouse.objects.for_user(self.request.user).order_by("code", "id")

    def perform_create(self, serializer):
        serializer.instance = services.create_warehouse(actor=self.request.user, ip=client_ip(self.request),
                                                        **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.update_warehouse(actor=self.request.user, warehouse=serializer.instance,
                                                        ip=client_ip(self.request), **serializer.validated_data)

    @extend_schema(responses={204: None, 409: OpenApiResponse(
        description="`warehouse_in_use`: it has stock, history, staff or settings; deactivate it instead.")})
    def destroy(self, request, *args, **kwargs):
        services.delete_warehouse(actor=request.user, warehouse=self.get_object(), ip=client_ip(request))
        return Response(status=status.HTTP_204_NO_CONTENT)
