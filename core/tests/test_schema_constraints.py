"""The schema says what the API enforces (issue 23): a client, a form builder or a generator trusting it sends
nothing the API then refuses for a rule the schema could have said.

Fast, on SQLite too: the schema is generated once, in-process (generation reads no data). Two kinds of test:
the generic ones walk every request body and parameter (so a new endpoint that forgets a bound fails here), the
named ones check a rule is stated and, where the rule is checked in code, that the schema and the check agree on
examples on each side of it. The rules JSON Schema cannot say are listed in docs/DECISIONS.md, "What the schema
cannot say"; the schemathesis run that measures the rest is `scripts/schema_mismatch.py`.
"""

import json
import re

import pytest
from django.contrib.auth import password_validation
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from accounts.serializers import PasswordChangeSerializer
from core.filters import MAX_ID
from core.idempotency import HEADER, KEY_PATTERN, MAX_KEY_LENGTH, is_valid_key
from core.pagination import PageNumberPagination
from core.serializers import NO_NUL_PATTERN, NOT_BLANK_PATTERN
from inventory.models import MAX_QUANTITY, StockMovement
from inventory.serializers import AdjustStockSerializer
from inventory.tests.factories import ProductFactory
from warehouses.serializers import RegisterSerializer
from warehouses.tests.factories import WarehouseFactory
from workflows.serializers import StockCountCreateSerializer, TransferRequestCreateSerializer

METHODS = {"get", "post", "put", "patch", "delete"}
NOT_ONLY_DIGITS = r"^[^\u0000]*[^\d\u0000][^\u0000]*$"
# Query parameters that name an object by id (1..MAX_ID, like every id the API hands out).
ID_PARAMETERS = {"warehouse", "product", "actor", "manager"}


@pytest.fixture(scope="module")
def schema():
    generated = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(generated, renderer_context={}))


def _operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield f"{method.upper()} {path}", operation


def _name(reference: str) -> str:
    return reference.rpartition("/")[2]


def _body_components(schema) -> dict[str, set[str]]:
    """Every component a request body uses (directly or nested), with the operations using it."""
    components = schema["components"]["schemas"]
    found: dict[str, set[str]] = {}

    def refs(node):
        if isinstance(node, dict):
            if "$ref" in node:
                yield _name(node["$ref"])
            for value in node.values():
                yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    for label, operation in _operations(schema):
        pending = list(refs(operation.get("requestBody", {})))
        while pending:
            name = pending.pop()
            if label not in found.setdefault(name, set()):
                found[name].add(label)
                pending += refs(components[name])
    return found


def _component(schema, name):
    return schema["components"]["schemas"][name]


def _body(schema, label: str, media_type: str = "application/json") -> dict:
    method, path = label.split(" ", 1)
    content = schema["paths"][path][method.lower()]["requestBody"]["content"][media_type]
    return _component(schema, _name(content["schema"]["$ref"]))


def _nullable_to_json_schema(node):
    """OpenAPI 3.0's `nullable: true` as JSON Schema (what generators and validators do with it)."""
    if isinstance(node, list):
        return [_nullable_to_json_schema(value) for value in node]
    if not isinstance(node, dict):
        return node
    node = {key: _nullable_to_json_schema(value) for key, value in node.items()}
    if node.pop("nullable", False):
        if "type" in node:
            node["type"] = [node["type"], "null"]
        if "enum" in node and None not in node["enum"]:
            node["enum"] = [*node["enum"], None]
        if "type" not in node and "enum" not in node:
            node = {"anyOf": [node, {"type": "null"}]}
    return node


def _validator(schema, name) -> Draft202012Validator:
    return Draft202012Validator({"$ref": f"#/components/schemas/{name}",
                                 "components": _nullable_to_json_schema(schema["components"])})


# --- every body, every parameter ---------------------------------------------------------------------------


def test_every_request_body_refuses_the_keys_it_does_not_take(schema):
    """Every input serializer is strict (`core.serializers.Strict*`), and its schema says so: new ones included."""
    bodies = _body_components(schema)
    assert len(bodies) >= 40, sorted(bodies)
    open_bodies = [name for name in bodies
                   if _component(schema, name).get("type") == "object"
                   and _component(schema, name).get("additionalProperties") is not False]
    assert not open_bodies, open_bodies


def _unbounded(name: str, key: str, field: dict) -> str | None:
    kind = field.get("type")
    if kind == "integer" and not ("minimum" in field and "maximum" in field):
        return f"{name}.{key}: an integer needs min_value and max_value (or is an id: a PrimaryKeyRelatedField)"
    if kind == "string" and "maxLength" not in field and "enum" not in field and field.get("format") not in (
            "binary", "date", "date-time", "uuid"):
        return f"{name}.{key}: a string needs max_length"
    if kind == "string" and not {"pattern", "format", "enum"} & field.keys() and field.get("maxLength") != 0:
        return f"{name}.{key}: a text field states no NUL rule (is its serializer strict?)"
    if kind == "array" and "maxItems" not in field:
        return f"{name}.{key}: a list needs max_length"
    return None


def test_every_request_field_is_bounded(schema):
    """Integers have both bounds, strings a maximum length, lists a maximum size: nothing a client may send is
    refused by a bound the schema did not state (ids are 1..MAX_ID: no other number names an object)."""
    problems = []
    for name in _body_components(schema):
        for key, field in _component(schema, name).get("properties", {}).items():
            for variant in field.get("oneOf", [field]):
                problems.append(_unbounded(name, key, variant))
                if variant.get("type") == "array" and "type" in variant["items"]:
                    problems.append(_unbounded(name, f"{key}[]", variant["items"]))
    assert not [problem for problem in problems if problem], [problem for problem in problems if problem]


def test_every_integer_query_parameter_is_bounded_and_ids_start_at_one(schema):
    problems = []
    for label, operation in _operations(schema):
        for parameter in operation.get("parameters", []):
            field = parameter["schema"]
            if parameter["in"] != "query" or field.get("type") != "integer":
                continue
            if "minimum" not in field or ("maximum" not in field and parameter["name"] != "page"):
                problems.append((label, parameter["name"], field))
            if parameter["name"] in ID_PARAMETERS and (field.get("minimum"), field.get("maximum")) != (1, MAX_ID):
                problems.append((label, parameter["name"], field))
    assert not problems, problems


def test_a_filter_states_the_bounds_of_its_own_arguments(schema):
    parameters = {p["name"]: p["schema"] for p in schema["paths"]["/api/stock-movements/"]["get"]["parameters"]}
    assert (parameters["after"]["minimum"], parameters["after"]["maximum"]) == (0, MAX_ID)  # IdFilter(min_value=0)
    assert (parameters["product"]["minimum"], parameters["product"]["maximum"]) == (1, MAX_ID)
    reservations = {p["name"]: p["schema"] for p in schema["paths"]["/api/reservations/"]["get"]["parameters"]}
    assert reservations["reference"]["maxLength"] == 100  # CharFilter(max_length=100)


def test_every_id_in_a_path_is_one_to_max_id(schema):
    ids = [(label, parameter["schema"]) for label, operation in _operations(schema)
           for parameter in operation.get("parameters", []) if parameter["in"] == "path"]
    assert len(ids) >= 20
    assert not [(label, field) for label, field in ids if (field.get("minimum"), field.get("maximum")) != (1, MAX_ID)]


def test_pagination_parameters_state_their_bounds(schema):
    parameters = {p["name"]: p["schema"] for p in schema["paths"]["/api/stocks/"]["get"]["parameters"]}
    assert parameters["page"]["minimum"] == 1
    assert (parameters["page_size"]["minimum"], parameters["page_size"]["maximum"]) == (
        1, PageNumberPagination.max_page_size)


def test_dashboard_and_report_parameters_are_their_query_serializers(schema):
    admin = {p["name"]: p for p in schema["paths"]["/api/dashboard/admin/"]["get"]["parameters"]}
    assert (admin["days"]["schema"]["minimum"], admin["days"]["schema"]["maximum"]) == (1, 366)
    warehouse = {p["name"]: p for p in schema["paths"]["/api/dashboard/warehouse/"]["get"]["parameters"]}
    assert warehouse["warehouse"]["required"] is True
    assert (warehouse["warehouse"]["schema"]["minimum"], warehouse["warehouse"]["schema"]["maximum"]) == (1, MAX_ID)
    report = {p["name"]: p for p in schema["paths"]["/api/reports/stock-movements/"]["get"]["parameters"]}
    assert report["warehouse"]["schema"]["minimum"] == 1
    assert set(report["format"]["schema"]["enum"]) == {"pdf", "csv", "json"}
    assert "1900-01-01" in report["date"]["description"]


# --- text ------------------------------------------------------------------------------------------------------


def test_text_fields_state_the_nul_and_blank_rules(schema):
    close = _body(schema, "POST /api/transfer-requests/{id}/close/")["properties"]["reason"]
    assert close["pattern"] == NOT_BLANK_PATTERN  # required text: not blank, not only spaces
    note = _body(schema, "POST /api/stocks/assign/")["properties"]["note"]
    assert note["pattern"] == NO_NUL_PATTERN  # may be blank


TEXT = st.text(alphabet=st.sampled_from("ab \t\n\x00\u00a0\u2003é"), max_size=6)


@settings(max_examples=300, deadline=None, database=None)
@given(TEXT, st.booleans())
def test_the_text_patterns_and_drfs_char_field_agree(text, allow_blank):
    field = serializers.CharField(allow_blank=allow_blank)
    try:
        field.run_validation(text)
        accepted = True
    except ValidationError:
        accepted = False
    pattern = NO_NUL_PATTERN if allow_blank else NOT_BLANK_PATTERN
    assert bool(re.search(pattern, text)) == accepted, (text, allow_blank)


@settings(max_examples=300, deadline=None, database=None)
@given(st.text(alphabet=st.sampled_from("0123456789a ."), min_size=8, max_size=10))
def test_the_new_password_pattern_and_the_numeric_validator_agree(password):
    refused = password.isdigit()
    assert bool(re.search(NOT_ONLY_DIGITS, password)) != refused, password


# --- the Idempotency-Key header ------------------------------------------------------------------------------


def test_every_idempotency_key_header_states_its_rule(schema):
    headers = [parameter["schema"] for _, operation in _operations(schema)
               for parameter in operation.get("parameters", []) if parameter["name"] == HEADER]
    assert len(headers) >= 15
    for header in headers:
        assert header == {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": KEY_PATTERN}


@settings(max_examples=200, deadline=None, database=None)
@given(st.from_regex(KEY_PATTERN, fullmatch=True).filter(lambda key: len(key) <= MAX_KEY_LENGTH))
def test_every_key_the_schema_offers_is_taken(key):
    assert is_valid_key(key.strip())


@pytest.mark.parametrize("key", ["", " ", "a\x00b", "tab\there", "x" * (MAX_KEY_LENGTH + 1)])
def test_a_key_the_check_refuses_is_one_the_schema_refuses(key):
    assert not is_valid_key(key.strip())
    assert not (re.fullmatch(KEY_PATTERN, key) and len(key) <= MAX_KEY_LENGTH)


# --- named fields ------------------------------------------------------------------------------------------------


def test_stock_quantities_and_reasons_state_their_bounds_and_values(schema):
    adjust = _body(schema, "POST /api/stocks/adjust/")["properties"]
    assert (adjust["delta"]["minimum"], adjust["delta"]["maximum"]) == (-MAX_QUANTITY, MAX_QUANTITY)
    assert adjust["delta"]["not"] == {"enum": [0]}
    assert set(_component(schema, _name(adjust["reason"]["$ref"]))["enum"]) == set(StockMovement.Reason.values)
    for label in ("POST /api/stocks/assign/", "POST /api/reservations/", "POST /api/purchase-requests/"):
        quantity = _body(schema, label)["properties"]["quantity"]
        assert (quantity["minimum"], quantity["maximum"]) == (1, MAX_QUANTITY), label


def test_ids_in_bodies_are_one_to_max_id(schema):
    for label, key in [("POST /api/stocks/adjust/", "warehouse"), ("POST /api/stocks/adjust/", "product"),
                       ("POST /api/staffs/dismiss/", "user"), ("POST /api/auth/register/", "warehouse"),
                       ("POST /api/promotion-requests/approve/", "id"), ("POST /api/warehouses/", "manager"),
                       ("POST /api/transfer-requests/", "source_warehouse")]:
        field = _body(schema, label)["properties"][key]
        assert (field["minimum"], field["maximum"]) == (1, MAX_ID), (label, key, field)


def test_a_zero_delta_is_refused_by_the_schema_and_the_field():
    field = AdjustStockSerializer().fields["delta"]
    with pytest.raises(ValidationError, match="must not be zero"):
        field.run_validation(0)
    assert field.run_validation(-1) == -1


def test_counted_products_are_each_given_once(schema):
    assert _body(schema, "POST /api/stock-counts/")["properties"]["products"]["uniqueItems"] is True
    with pytest.raises(ValidationError, match=r"Each product may appear once; repeated: \[2\]"):
        StockCountCreateSerializer().fields["products"].run_validation([2, 3, 2])


def test_counted_lines_are_required_in_the_patch_body(schema):
    operation = schema["paths"]["/api/stock-counts/{id}/lines/"]["patch"]
    assert operation["requestBody"]["required"] is True
    assert _body(schema, "PATCH /api/stock-counts/{id}/lines/")["required"] == ["lines"]


def test_nested_lists_state_their_sizes(schema):
    lines = _body(schema, "POST /api/transfer-requests/")["properties"]["lines"]
    assert (lines["minItems"], lines["maxItems"]) == (1, 100)
    receipt = _body(schema, "POST /api/transfer-requests/{id}/receive/")["properties"]["lines"]
    assert (receipt["minItems"], receipt["maxItems"]) == (1, 1000)  # a line may appear once per lot (SPEC §14)


def test_a_new_password_states_the_validators_length_and_not_only_digits(schema):
    minimum = next(validator.min_length for validator in password_validation.get_default_password_validators()
                   if isinstance(validator, password_validation.MinimumLengthValidator))
    for label, key in [("POST /api/auth/register/", "password"), ("POST /api/auth/password/change/", "new_password"),
                       ("POST /api/auth/password/reset/confirm/", "new_password")]:
        field = _body(schema, label)["properties"][key]
        assert field["minLength"] == minimum and field["pattern"] == NOT_ONLY_DIGITS, (label, field)
    # The current password is only compared: whatever the rules were when it was set, it is not refused by them.
    assert _body(schema, "POST /api/auth/password/change/")["properties"]["old_password"]["minLength"] == 1


def test_a_short_new_password_is_refused_by_the_field_with_the_validators_words():
    field = PasswordChangeSerializer().fields["new_password"]
    with pytest.raises(ValidationError, match="too short. It must contain at least 8 characters"):
        field.run_validation("Ab3$xyz")
    assert field.run_validation("Ab3$xyzw") == "Ab3$xyzw"


# --- the rules between fields: the schema and validate() agree ------------------------------------------------


def test_no_body_is_split_into_alternatives(schema):
    """Rules between keys are stated as the shapes refused (`not`): a top-level `oneOf`/`anyOf` makes client
    generators (openapi-python-client) build one model per branch, without the body's own fields."""
    split = [name for name in _body_components(schema) if {"oneOf", "anyOf"} & _component(schema, name).keys()]
    assert not split, split


REGISTER_SHAPES = [  # (role, warehouse): "absent" leaves the key out
    ("absent", "absent"), ("absent", None), ("absent", "id"),
    ("viewer", "absent"), ("viewer", None), ("viewer", "id"),
    ("staff", "absent"), ("staff", None), ("staff", "id"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "warehouse"), REGISTER_SHAPES)
def test_registration_schema_and_validation_agree_on_role_and_warehouse(schema, role, warehouse):
    body = {"username": "newcomer", "email": "newcomer@example.com", "password": "A-long-passphrase-7"}
    if role != "absent":
        body["role"] = role
    if warehouse != "absent":
        body["warehouse"] = WarehouseFactory().pk if warehouse == "id" else None
    schema_says = _validator(schema, "RegisterRequest").is_valid(body)
    serializer = RegisterSerializer(data=body)
    assert schema_says == serializer.is_valid(), (body, serializer.errors)
    assert schema_says == ((role in ("absent", "viewer") and warehouse != "id") or (role, warehouse) == ("staff", "id"))


TRANSFER_SHAPES = [  # which of product, quantity, lines the body has
    (), ("product",), ("quantity",), ("product", "quantity"), ("lines",), ("product", "lines"),
    ("quantity", "lines"), ("product", "quantity", "lines"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("keys", TRANSFER_SHAPES, ids=lambda keys: "+".join(keys) or "none")
def test_transfer_schema_and_validation_agree_on_one_line_or_lines(schema, keys):
    product = ProductFactory().pk
    body = {"source_warehouse": WarehouseFactory().pk, "destination_warehouse": WarehouseFactory().pk}
    values = {"product": product, "quantity": 3, "lines": [{"product": product, "quantity": 2}]}
    body.update({key: values[key] for key in keys})
    schema_says = _validator(schema, "TransferRequestCreateRequest").is_valid(body)
    serializer = TransferRequestCreateSerializer(data=body)
    assert schema_says == serializer.is_valid(), (body, serializer.errors)
    assert schema_says == (set(keys) in ({"product", "quantity"}, {"lines"}))
