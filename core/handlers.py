"""The API's exception handler: the one place that maps an error code to an HTTP status and a body."""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from .errors import DomainError, status_of

logger = logging.getLogger(__name__)

# DRF's default codes, renamed where the API documents a different one.
_CODE_RENAMES = {"not_authenticated": "not_authenticated", "authentication_failed": "not_authenticated"}


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        set_rollback()
        return Response(exc.as_dict(), status=status_of(exc))
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, SuspiciousOperation):
        # Too many fields or files, or a body over Django's upload limits: the client's fault, a 400 not a 500.
        exc = exceptions.ParseError(str(exc) or "Bad request.", code="bad_request")

    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real bug: Django's 500 handler (JSON, see urls.handler500) takes over
    if isinstance(exc, exceptions.ValidationError):
        # Always DRF's field map, status 400: an error not tied to a field (a bare list, e.g. SearchFilter's
        # "Null characters are not allowed.") goes under the non-field key, as a serializer's own would.
        if not isinstance(response.data, dict):
            data = response.data if isinstance(response.data, list) else [response.data]
            response.data = {api_settings.NON_FIELD_ERRORS_KEY: data}
        return response

    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    code = None
    if isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        if isinstance(codes, str):
            code = codes
        elif isinstance(codes, dict) and isinstance(codes.get("detail"), str):
            code = codes["detail"]
    if isinstance(detail, dict) and "detail" in detail:
        detail = detail["detail"]
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        code = _CODE_RENAMES.get(code or "", code) or "not_authenticated"
    if isinstance(exc, exceptions.PermissionDenied) and code in (None, "permission_denied"):
        code = "permission_denied"
    body = error_body(str(detail), code or _default_code(response.status_code))
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        body["wait"] = int(exc.wait)
    response.data = body
    return response


def _default_code(status_code: int) -> str:
    return {
        status.HTTP_401_UNAUTHORIZED: "not_authenticated",
        status.HTTP_403_FORBIDDEN: "permission_denied",
        status.HTTP_404_NOT_FOUND: "not_found",
        status.HTTP_405_METHOD_NOT_ALLOWED: "method_not_allowed",
        status.HTTP_406_NOT_ACCEPTABLE: "not_acceptable",
        status.HTTP_409_CONFLICT: "conflict",
        status.HTTP_415_UNSUPPORTED_MEDIA_TYPE: "unsupported_media_type",
        status.HTTP_429_TOO_MANY_REQUESTS: "throttled",
    }.get(status_code, "error")


def error_body(detail: str, code: str, **extra) -> dict:
    """The error envelope every non-validation error answers with: `{"detail", "code", ...}`."""
    return {"detail": detail, "code": code, **extra}


def json_error(status_code: int, detail: str, code: str, **extra) -> JsonResponse:
    """The error envelope as a plain Django response (outside DRF: middleware, URL handlers, health)."""
    return JsonResponse(error_body(detail, code, **extra), status=status_code)
