"""Dashboards: validate the query, call one selector, render."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsActiveUser
from core.errors import NotFound

from . import policies, selectors
from .permissions import CanViewAdminDashboard, CanViewWarehouseDashboards
from .serializers import (
    AdminDashboardSerializer,
    DaysQuerySerializer,
    WarehouseDashboardQuerySerializer,
    WarehouseDashboardSerializer,
)


class AdminDashboardView(APIView):
    """Totals, daily flows, top products and open alerts over every warehouse (admin only)."""

    permission_classes = [IsActiveUser & CanViewAdminDashboard]

    # The query serializer is the parameters' schema: the bounds documented are the bounds checked.
    @extend_schema(parameters=[DaysQuerySerializer], responses=AdminDashboardSerializer)
    def get(self, request):
        query = DaysQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = selectors.admin_dashboard(days=query.validated_data["days"])
        return Response(AdminDashboardSerializer(data).data)


class WarehouseDashboardView(APIView):
    """One warehouse's dashboard: admin, or the manager and staff of that warehouse."""

    permission_classes = [IsActiveUser & CanViewWarehouseDashboards]

    @extend_schema(
        parameters=[WarehouseDashboardQuerySerializer],
        responses={200: WarehouseDashboardSerializer,
                   404: OpenApiResponse(description="`not_found`: no such warehouse among those you operate.")},
    )
    def get(self, request):
        query = WarehouseDashboardQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        warehouses = policies.dashboard_warehouses(request.user)
        warehouse = warehouses.filter(pk=query.validated_data["warehouse"]).first()
        if warehouse is None:
            raise NotFound("No such warehouse among those you operate.")
        data = selectors.warehouse_dashboard(warehouse=warehouse, days=query.validated_data["days"])
        return Response(WarehouseDashboardSerializer(data).data)
