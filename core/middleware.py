"""Keep the API JSON-only even for errors that escape DRF (crashes), also when DEBUG is on."""

import logging
from http import HTTPStatus

from .handlers import json_error

logger = logging.getLogger("core")


_CODES = {400: "bad_request", 403: "permission_denied", 404: "not_found", 405: "method_not_allowed",
          500: "server_error"}


class ApiJsonErrorsMiddleware:
    """Under /api/ a crash is a JSON 500 and any HTML error page (e.g. a bad Host with DEBUG on) becomes JSON."""

    # First in MIDDLEWARE, so that it also sees the error pages answered by the other middleware.

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (request.path.startswith("/api/") and response.status_code >= 400
                and response.get("Content-Type", "").startswith("text/html")):
            return _error_page_as_json(response.status_code)
        return response

    def process_exception(self, request, exception):
        if not request.path.startswith("/api/"):
            return None
        logger.exception("unhandled error on %s %s", request.method, request.path)
        return json_error(500, "Internal server error.", "server_error")


def _error_page_as_json(status: int):
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    code = _CODES.get(status, phrase.lower().replace(" ", "_").replace("-", "_"))
    return json_error(status, f"{phrase}.", code)
