"""URL configuration: the API under /api/, the Django admin, the schema and Swagger UI."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from django.views.static import serve

from core.handlers import json_error
from core.metrics import metrics_view
from core.throttling import throttle_admin_login
from core.views import DocsView, HealthView, SchemaView

urlpatterns = [
    # The admin login shares the API's per-IP login limit and has a per-username one (core.throttling).
    path("admin/login/", throttle_admin_login(admin.site.login), name="admin-login"),
    path("admin/", admin.site.urls),
    path("api/health/", HealthView.as_view(), name="health"),
    path("metrics", metrics_view, name="metrics"),
    path("api/schema/", SchemaView.as_view(), name="schema"),
    path("api/docs/", DocsView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/", include("accounts.urls")),
    path("api/", include("warehouses.urls")),
    path("api/", include("inventory.urls")),
    path("api/", include("workflows.urls")),
    path("api/", include("dashboards.urls")),
    path("api/", include("reports.urls")),
    path("api/", include("webhooks.urls")),
]


@csrf_exempt  # a POST or DELETE to an unknown path is a 404, not CSRF's HTML 403 page
def api_not_found(request, *args, **kwargs):
    """Unknown /api/ paths answer JSON even with DEBUG on (Django's debug 404 page is HTML)."""
    return json_error(404, "Not found.", "not_found")


urlpatterns.append(re_path(r"^api/", api_not_found))

if settings.DEBUG:
    urlpatterns.append(path("media/<path:path>", serve, {"document_root": settings.MEDIA_ROOT}))


def _json_error(status: int, detail: str, code: str):
    def view(request, exception=None):
        return json_error(status, detail, code)

    return view


# Outside DRF too (unknown URLs, crashes), the API never answers with an HTML page.
handler400 = _json_error(400, "Bad request.", "bad_request")
handler403 = _json_error(403, "You do not have permission to perform this action.", "permission_denied")
handler404 = _json_error(404, "Not found.", "not_found")
handler500 = _json_error(500, "Internal server error.", "server_error")
