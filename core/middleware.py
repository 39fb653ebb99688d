"""Keep the API JSON-only even for errors that escape DRF (crashes), also when DEBUG is on."""

import logging
import time
from http import HTTPStatus

from . import logs
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


class RequestLogMiddleware:
    """One log line per request (method, path, status, duration, user) under a request id.

    The id is the client's `X-Request-ID` when it is a plain token, else a new one; it is returned in
    the answer's `X-Request-ID` and stamped on every log line written while the request is served.
    """

    access = logging.getLogger("core.requests")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # Set here and cleared when the response is closed (`request_finished`, see CoreConfig), so the
        # handler's own lines after the middleware ("Not Found: ...") carry the id too.
        request_id = logs.request_id_from(request.headers.get("X-Request-ID"))
        logs.request_id.set(request_id)
        logs.user_id.set(None)
        started = time.perf_counter()
        response = self.get_response(request)
        user = getattr(request, "user", None)  # DRF sets the authenticated user on the Django request too
        user_id = user.pk if getattr(user, "is_authenticated", False) else None
        response["X-Request-ID"] = request_id
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        self.access.info("%s %s %s %.1fms", request.method, request.path, response.status_code, duration_ms,
                         extra={"method": request.method, "path": request.path, "status": response.status_code,
                                "duration_ms": duration_ms, "user_id": user_id})
        return response
