"""SPEC §8: a body key the endpoint does not accept is a 400 naming it, on every write endpoint.

The endpoints are found by walking the URL configuration, so a new endpoint is covered (or fails
here, if it needs an object id this test does not know how to make) without anyone remembering it.
"""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

UNKNOWN = "surely_not_a_field"
READ_ONLY = "created_at"  # shown by every resource, accepted by none
WRITE_METHODS = ("post", "put", "patch")
# Answers that mean "this caller may not get as far as the body": try the next caller.
NOT_THIS_CALLER = {401, 403, 404, 429}


def _api_routes(resolver=None, prefix=""):
    """(path template, view class) for every route under /api/."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        pattern = prefix + str(entry.pattern).removeprefix("^").removesuffix("$")
        if isinstance(entry, URLResolver):
            yield from _api_routes(entry, pattern)
        elif isinstance(entry, URLPattern):
            view = getattr(entry.callback, "cls", None) or getattr(entry.callback, "view_class", None)
            if pattern.startswith("api/") and view is not None:
                yield pattern, entry.callback, view


def _methods(callback, view) -> list[str]:
    actions = getattr(callback, "actions", None)  # a router's view set: {http method: action}
    allowed = actions.keys() if actions else [m for m in WRITE_METHODS if hasattr(view, m)]
    names = getattr(view, "http_method_names", WRITE_METHODS)
    return sorted(m for m in allowed if m in WRITE_METHODS and m in names)


WRITE_ROUTES = sorted({(pattern, method) for pattern, callback, view in _api_routes()
                       for method in _methods(callback, view)})


def _model_of(pattern: str):
    for _, callback, view in _api_routes():
        if str(_) == pattern:
            serializer = getattr(view, "serializer_class", None)
            meta = getattr(serializer, "Meta", None)
            return getattr(meta, "model", None)
    return None


def _path(pattern: str, world) -> str:
    """Fill `<int:pk>`-style parameters with the id of an existing object the admin can see."""
    if "<" not in pattern and "(?P" not in pattern:
        return "/" + pattern
    model = _model_of(pattern)
    if model is None:
        pytest.fail(f"{pattern}: no serializer model to make an object for; teach this test about it")
    obj = world.object_of(model)
    return "/" + re.sub(r"<(?:\w+:)?\w+>|\(\?P<\w+>[^)]*\)", str(obj.pk), pattern)


def test_there_are_write_routes_to_check():
    assert len(WRITE_ROUTES) >= 20, WRITE_ROUTES


@pytest.mark.parametrize(("pattern", "method"), WRITE_ROUTES, ids=[f"{m.upper()} {p}" for p, m in WRITE_ROUTES])
@pytest.mark.parametrize("key", [UNKNOWN, READ_ONLY])
def test_an_unknown_or_read_only_key_is_a_400_naming_it(world, make_client, anon, pattern, method, key):
    path = _path(pattern, world)
    answers = []
    for client in [anon, *(make_client(user) for user in world.everyone())]:
        response = getattr(client, method)(path, {key: "2026-01-01T00:00:00Z"}, format="json")
        answers.append(response.status_code)
        if response.status_code in NOT_THIS_CALLER:
            continue
        assert response.status_code == 400, (method, path, response.status_code, response.content)
        assert isinstance(response.data, dict) and key in response.data, response.data
        return
    pytest.fail(f"{method.upper()} {path}: no caller got past authorization ({answers})")
