"""Cross-cutting endpoints: health, the schema and its docs."""

from django.db import connection
from drf_spectacular.utils import extend_schema, inline_serializer
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView


class HealthView(APIView):
    """200 `{"status": "ok"}` when the database answers, 503 otherwise."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []

    @extend_schema(responses={
        200: inline_serializer("Health", {"status": serializers.CharField()}),
        503: inline_serializer("HealthUnavailable", {"status": serializers.CharField(),
                                                     "detail": serializers.CharField(),
                                                     "code": serializers.CharField()}),
    })
    def get(self, request):
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
        except Exception:  # any database failure means "not healthy", never a 500
            return Response({"status": "unavailable", "detail": "The database is not answering.",
                             "code": "database_unavailable"}, status=503)
        return Response({"status": "ok"})


class JsonErrorsMixin:
    """Errors of a view rendering YAML or HTML (schema, Swagger UI) still answer `{"detail", "code"}` JSON."""

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return response


class SchemaView(JsonErrorsMixin, SpectacularAPIView):
    """The OpenAPI schema (YAML, or JSON with `?format=json`)."""

    authentication_classes = []
    permission_classes = []


class DocsView(JsonErrorsMixin, SpectacularSwaggerView):
    """Swagger UI from local static files."""

    authentication_classes = []
    permission_classes = []
