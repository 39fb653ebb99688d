"""Warehouses API: every active user reads the catalogue; admins create, change and delete. And staffing
(registering staff of a warehouse, dismissing, demoting a manager), which writes warehouse rows."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import CanDemote, CanDismiss
from accounts.serializers import DismissSerializer, UserSerializer
from accounts.views import ERROR, AnonymousAuthView
from core.http import client_ip

from . import services, staffing
from .filters import WarehouseFilter
from .models import Warehouse
from .permissions import WAREHOUSE_PERMISSIONS
from .serializers import DemoteSerializer, RegisterSerializer, WarehouseSerializer


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


class RegisterView(AnonymousAuthView):
    """Self-registration as a pending viewer or staff member."""

    @extend_schema(request=RegisterSerializer, responses={201: UserSerializer, 400: ERROR, 429: ERROR})
    def post(self, request):
        serializer = RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = staffing.register_user(**serializer.validated_data, ip=client_ip(request))
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)


class DismissView(APIView):
    """Dismiss a user: inactive at once, every refresh token blacklisted."""

    permission_classes = [CanDismiss]

    @extend_schema(request=DismissSerializer, responses={200: UserSerializer, 400: ERROR, 403: ERROR, 409: ERROR})
    def post(self, request):
        serializer = DismissSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        self.check_object_permissions(request, serializer.validated_data["user"])
        user = staffing.dismiss_user(actor=request.user, **serializer.validated_data, ip=client_ip(request))
        return Response(UserSerializer(user).data)


class DemoteManagerView(APIView):
    """Admin turns a manager back into staff; their warehouses move or become unmanaged."""

    permission_classes = [CanDemote]

    @extend_schema(request=DemoteSerializer, responses={200: UserSerializer, 400: ERROR, 403: ERROR})
    def post(self, request):
        serializer = DemoteSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        user = staffing.demote_manager(actor=request.user, **serializer.validated_data, ip=client_ip(request))
        return Response(UserSerializer(user).data)
