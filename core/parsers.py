"""Parsers: JSON that turns every malformed body into a 400 `parse_error`; multipart with an upload cap."""

import json

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """DRF's parser, also refusing bodies nested too deep to parse and strings that cannot be stored or echoed."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.") from None
        # A lone surrogate escape ("\ud800") parses into a str that UTF-8 cannot encode: the database
        # driver or the renderer echoing it in a validation error would crash on it later.
        try:
            json.dumps(data, ensure_ascii=False).encode()
        except (UnicodeEncodeError, RecursionError):
            raise ParseError("JSON parse error - a string holds an unpaired surrogate escape.") from None
        return data


class MultiPartParser(parsers.MultiPartParser):
    """DRF's multipart parser for the views that take a file, refusing a body over the upload cap unread."""

    max_bytes_setting = "UPLOAD_MAX_BYTES"

    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        limit = getattr(settings, self.max_bytes_setting)
        # Content-Length is what the client announces; the stream below is also cut at that length, so a
        # body cannot carry more than announced. Checking it first means nothing of an oversized body is read.
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0
        except ValueError:
            raise ParseError("Invalid Content-Length header.", code="bad_request") from None
        if length > limit:
            # 400 `bad_request` like Django's own body limits (DATA_UPLOAD_MAX_MEMORY_SIZE) answer.
            raise ParseError(f"The request body is larger than {limit // (1024 * 1024)} MiB.", code="bad_request")
        return super().parse(stream, media_type, parser_context)


class ImportFileParser(MultiPartParser):
    """Multipart for the CSV imports: a file of up to 5 MiB, the body refused unread past `IMPORT_UPLOAD_MAX_BYTES`."""

    max_bytes_setting = "IMPORT_UPLOAD_MAX_BYTES"
