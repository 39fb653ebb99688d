"""`Idempotency-Key` for POSTs that change stock or create requests (SPEC §8).

The first successful (2xx) response to a `(user, key)` pair is stored in the same transaction as
the work it describes; a repeat with the same method, path and body replays it with
`Idempotent-Replayed: true` and changes nothing; the same key with a different request is
409 `idempotency_key_reused`. Concurrent repeats are serialized by the unique index on
`(user, key)`: the second insert waits for the first transaction and then replays its answer.
Error responses are not stored, so a client may retry after fixing the cause.
"""

import hashlib
import json
from datetime import timedelta
from functools import wraps

from django.db import IntegrityError, transaction
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from .errors import DomainError
from .models import IdempotencyRecord

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
# What the schema promises is accepted: visible ASCII, inner spaces allowed (a header's outer spaces are
# stripped on the way in). The check below also takes other printable Latin-1 characters; HTTP clients differ
# on sending those, so the schema does not offer them.
KEY_PATTERN = r"^[!-~]([ -~]*[!-~])?$"
# Keys are honoured at least this long; `prune_idempotency_keys` deletes older ones.
RETENTION = timedelta(hours=48)


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"
    default_detail = "This Idempotency-Key was already used with a different request."


class InvalidIdempotencyKey(DomainError):
    code = "invalid_idempotency_key"
    default_detail = f"The Idempotency-Key header must be 1 to {MAX_KEY_LENGTH} printable characters."


def request_fingerprint(request) -> str:
    try:
        body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    except (TypeError, ValueError):
        body = repr(request.data)
    raw = f"{request.method}\n{request.path}\n{body}\n{_files_digest(request)}".encode()
    return hashlib.sha256(raw).hexdigest()


def _files_digest(request) -> str:
    """The uploaded files' contents (a file is named in `request.data` only by its name)."""
    files = getattr(request, "FILES", None)
    if not files:
        return ""
    digest = hashlib.sha256()
    for name in sorted(files):
        for upload in files.getlist(name):
            digest.update(name.encode() + b"\0")
            for chunk in upload.chunks():
                digest.update(chunk)
            upload.seek(0)
    return digest.hexdigest()


def _replay(record: IdempotencyRecord, fingerprint: str) -> Response:
    if record.request_hash != fingerprint:
        raise IdempotencyKeyReused()
    body = record.response_body
    if isinstance(body, str):
        # Stored as the rendered JSON text: parsing it back keeps the original key order, which a
        # jsonb column would not, so the replayed body is byte-for-byte the first one.
        body = json.loads(body)
    return Response(body, status=record.response_status, headers={REPLAYED_HEADER: "true"})


PARAMETER = OpenApiParameter(
    HEADER, {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": KEY_PATTERN},
    OpenApiParameter.HEADER, required=False,
    description="Repeat-safe retries: the same key and body replay the first response (nothing changes twice).",
)


def is_valid_key(key: str) -> bool:
    """1 to MAX_KEY_LENGTH printable characters (every key KEY_PATTERN matches, and more)."""
    return 0 < len(key) <= MAX_KEY_LENGTH and key.isprintable()


def idempotent(handler):
    """Decorate a view's `post` so that it honours the `Idempotency-Key` header (and documents it)."""

    @wraps(handler)
    def wrapper(view, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return handler(view, request, *args, **kwargs)
        key = key.strip()
        if not is_valid_key(key):
            raise InvalidIdempotencyKey()
        fingerprint = request_fingerprint(request)
        with transaction.atomic():
            fresh_after = timezone.now() - RETENTION
            try:
                with transaction.atomic():
                    # Blocks while another transaction holds the same (user, key), then fails.
                    IdempotencyRecord.objects.filter(user=request.user, key=key, created_at__lt=fresh_after).delete()
                    record = IdempotencyRecord.objects.create(
                        user=request.user, key=key, method=request.method, path=request.path[:255],
                        request_hash=fingerprint,
                    )
            except IntegrityError:
                existing = IdempotencyRecord.objects.get(user=request.user, key=key)
                return _replay(existing, fingerprint)

            response = handler(view, request, *args, **kwargs)
            if 200 <= response.status_code < 300:
                record.response_status = response.status_code
                record.response_body = (JSONRenderer().render(response.data) or b"null").decode()
                record.save(update_fields=["response_status", "response_body"])
            else:
                transaction.set_rollback(True)
            return response

    return extend_schema(parameters=[PARAMETER])(wrapper)
