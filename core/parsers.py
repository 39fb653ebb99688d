"""JSON parsing that turns every malformed body into a 400 `parse_error`, never a 500."""

import json

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
