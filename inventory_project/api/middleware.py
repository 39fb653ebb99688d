"""Keep the API JSON-only even for errors that escape DRF (crashes), also when DEBUG is on."""

import logging

from django.http import JsonResponse

logger = logging.getLogger("inventory_project.api")


class ApiJsonErrorsMiddleware:
    """An unhandled exception under /api/ becomes a JSON 500, never Django's HTML debug page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not request.path.startswith("/api/"):
            return None
        logger.exception("unhandled error on %s %s", request.method, request.path)
        return JsonResponse({"detail": "Internal server error.", "code": "server_error"}, status=500)
