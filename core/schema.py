"""OpenAPI post-processing: every operation documents the error answers it can really give, with their shape; the
rules between keys of strict request bodies are merged in (`apply_schema_rules`); path ids are bounded."""

from .serializers import ID_SCHEMA, SCHEMA_RULES_KEY

ERROR = {
    "type": "object",
    "description": 'Every error but a validation error: `{"detail", "code"}`; some codes add fields '
                   "(`available`/`requested` for `insufficient_stock`, `wait` for `throttled`).",
    "properties": {"detail": {"type": "string"}, "code": {"type": "string"}},
    "required": ["detail", "code"],
}
VALIDATION_ERROR = {
    "type": "object",
    "description": "DRF's field map (`{field: [messages]}`, `non_field_errors` for the whole body); a body that "
                   'is not parseable is `{"detail", "code": "parse_error"}`.',
    "additionalProperties": True,
}
_METHODS = {"get", "put", "post", "delete", "patch"}


def document_error_responses(result, generator, request, public):
    """Add the 400/401/403/404/415/429 answers that every view can give, and a schema to every error response."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Error", ERROR)
    schemas.setdefault("ValidationError", VALIDATION_ERROR)
    for path, item in result.get("paths", {}).items():
        for method, operation in item.items():
            if method not in _METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for status, description in _possible_errors(path, method, operation):
                responses.setdefault(status, {"description": description})
            if "414" in responses:
                responses["414"].setdefault("content", {"text/html": {"schema": {"type": "string"}}})
            for status, response in responses.items():
                if status.isdigit() and int(status) >= 400 and "content" not in response:
                    name = "ValidationError" if status == "400" else "Error"
                    response["content"] = {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}
    return result


def _possible_errors(path: str, method: str, operation: dict) -> list[tuple[str, str]]:
    parameters = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"}
    has_body = "requestBody" in operation
    errors = []
    if has_body or parameters:
        errors.append(("400", "Validation error: DRF's field map, or `parse_error` for a malformed body."))
    if any("jwtAuth" in requirement for requirement in operation.get("security", [])):
        errors.append(("401", "`not_authenticated`: no, bad or expired access token."))
        errors.append(("403", "`permission_denied`: your role or warehouse scope does not allow it."))
    if "{" in path or {"page", "cursor"} & parameters:
        errors.append(("404", "`not_found`: unknown id, outside your scope, a page past the end or an invalid cursor."))
    if has_body:
        errors.append(("415", "`unsupported_media_type`."))
    if method != "get":
        errors.append(("429", "`throttled`, with `wait` in seconds."))
    if parameters:
        errors.append(("414", "Request line too long: answered by the web server (gunicorn: 8190 bytes, see "
                              "docs/DEPLOY.md), before the API, as a plain page."))
    return errors


def apply_schema_rules(result, generator, request, public):
    """Merge each request body's `schema_rules` (left by `core.serializers.StrictFieldsSchema`) into its schema.

    Runs after `postprocess_schema_enums`: a rule narrows a field to some of its values (`role: [staff]`), which that
    hook would replace with the field's whole enum.
    """
    for schema in result.get("components", {}).get("schemas", {}).values():
        rules = schema.pop(SCHEMA_RULES_KEY, None) or {}
        for keyword, value in rules.items():
            if keyword == "required":  # keys the rule requires, added to those the fields require
                schema["required"] = sorted({*schema.get("required", []), *value})
            else:
                schema[keyword] = value
    # A body with a required key is itself required (drf-spectacular leaves a PATCH body optional).
    schemas = result.get("components", {}).get("schemas", {})
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            body = operation.get("requestBody") if method in _METHODS else None
            for content in (body or {}).get("content", {}).values():
                name = content.get("schema", {}).get("$ref", "").rpartition("/")[2]
                if schemas.get(name, {}).get("required"):
                    body["required"] = True
    return result


def bound_path_ids(result, generator, request, public):
    """An integer in a path is an id (`<int:pk>`): 1..MAX_ID, like every id the API hands out."""
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            for parameter in operation.get("parameters", []) if method in _METHODS else []:
                if parameter.get("in") == "path" and parameter.get("schema", {}).get("type") == "integer":
                    parameter["schema"].update(ID_SCHEMA)
    return result
