"""Products and low-stock thresholds."""

from rest_framework import viewsets

from core.http import client_ip

from .. import selectors, services
from ..filters import (
    ProductFilter,
    ThresholdFilter,
)
from ..permissions import (
    PRODUCT_PERMISSIONS,
    THRESHOLD_PERMISSIONS,
)
from ..serializers import (
    ProductSerializer,
    ThresholdSerializer,
)


class ProductViewSet(viewsets.ModelViewSet):
    """`/api/products/`: the catalogue; admins and managers add and change products."""

    serializer_class = ProductSerializer
    permission_classes = PRODUCT_PERMISSIONS
    filterset_class = ProductFilter
    search_fields = ["sku", "name"]
    ordering_fields = ["sku", "name", "created_at"]
    ordering = ["sku"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return selectors.products_for(self.request.user).order_by("sku", "id")

    def perform_create(self, serializer):
        serializer.instance = services.create_product(actor=self.request.user, ip=client_ip(self.request),
                                                      **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.update_product(actor=self.request.user, product=serializer.instance,
                                                      ip=client_ip(self.request), **serializer.validated_data)


class ThresholdViewSet(viewsets.ModelViewSet):
    """`/api/low-stock-thresholds/`: read by everyone; written by admins and the warehouse's manager."""

    serializer_class = ThresholdSerializer
    permission_classes = THRESHOLD_PERMISSIONS
    filterset_class = ThresholdFilter
    ordering_fields = ["threshold", "id"]
    ordering = ["warehouse_id", "product_id"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return selectors.thresholds_for(self.request.user).order_by("warehouse_id", "product_id", "id")

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.set_threshold(actor=self.request.user, warehouse=data["warehouse"],
                                                     product=data["product"], threshold=data["threshold"],
                                                     ip=client_ip(self.request))

    def perform_update(self, serializer):
        threshold = serializer.validated_data.get("threshold", serializer.instance.threshold)
        serializer.instance = services.update_threshold(actor=self.request.user, row=serializer.instance,
                                                        threshold=threshold, ip=client_ip(self.request))

    def perform_destroy(self, instance):
        services.delete_threshold(actor=self.request.user, row=instance, ip=client_ip(self.request))
