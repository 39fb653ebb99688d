"""Every 400 has one of the two documented shapes, also for hostile query parameters (a NUL byte)."""

import pytest

NUL = "a\x00b"


def documented_query_parameters(schema) -> dict[str, set[str]]:
    """{path: its query parameters} for every GET without a path parameter that the schema documents."""
    return {
        path: {parameter["name"] for parameter in item["get"].get("parameters", []) if parameter["in"] == "query"}
        for path, item in schema["paths"].items()
        if "get" in item and "{" not in path
    }


def assert_documented_error_shape(response, context):
    body = response.json()
    assert isinstance(body, dict), (context, body)
    if set(body) >= {"detail", "code"}:
        return
    assert response.status_code == 400, (context, body)  # only a 400 may be a field map
    assert body and all(isinstance(errors, list) for errors in body.values()), (context, body)


def test_a_validation_error_without_a_field_is_a_field_map_not_a_bare_list(world, make_client):
    response = make_client(world.admin).get("/api/users/", {"search": NUL})
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["Null characters are not allowed."]}


def test_a_nul_byte_in_any_query_parameter_of_any_list_endpoint_is_never_a_500_nor_a_bare_list(world, make_client):
    client = make_client(world.admin)
    parameters = documented_query_parameters(client.get("/api/schema/?format=json").json())
    pairs = [(path, name) for path, names in parameters.items() for name in sorted(names | {"search"})]
    assert len(pairs) > 40  # the walk below is not vacuous
    for path, name in pairs:
        response = client.get(path, {name: NUL})
        assert response.status_code < 500, (path, name, response.status_code)
        if response.status_code >= 400:
            assert_documented_error_shape(response, (path, name))
    searchable = [path for path, names in parameters.items() if "search" in names]
    assert len(searchable) >= 3
    for path in searchable:
        response = client.get(path, {"search": NUL})
        assert response.status_code == 400, path
        assert response.json() == {"non_field_errors": ["Null characters are not allowed."]}, path


@pytest.mark.parametrize("path", ["/api/users/", "/api/products/", "/api/stocks/"])
def test_search_with_a_nul_byte_is_a_400_field_map(world, make_client, path):
    response = make_client(world.admin).get(path, {"search": NUL})
    assert response.status_code == 400
    assert isinstance(response.json(), dict)
    assert "non_field_errors" in response.json()
