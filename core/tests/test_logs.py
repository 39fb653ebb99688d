"""Logs an aggregator can read (issue 23, item 4): a request id on every line, one JSON object per line."""

import io
import json
import logging

import pytest
from pythonjsonlogger.json import JsonFormatter

from core.logs import RequestContext, logging_config


@pytest.fixture
def json_lines():
    """The root logger also writes through the configured JSON formatter and context filter into a buffer."""
    spec = logging_config(fmt="json")["formatters"]["json"]
    buffer, handler = io.StringIO(), logging.StreamHandler()
    handler.setStream(buffer)
    handler.setFormatter(JsonFormatter(spec["format"], rename_fields=spec["rename_fields"]))
    handler.addFilter(RequestContext())
    root = logging.getLogger()
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(previous)


@pytest.mark.django_db
def test_every_answer_carries_a_request_id_and_a_plain_client_id_is_kept(anon):
    generated = anon.get("/api/health/")["X-Request-ID"]
    assert len(generated) == 32 and int(generated, 16) >= 0
    assert anon.get("/api/health/", HTTP_X_REQUEST_ID="edge-7f3a:42")["X-Request-ID"] == "edge-7f3a:42"
    for hostile in ("a\nforged: line", "x" * 129, "é"):
        assert anon.get("/api/health/", HTTP_X_REQUEST_ID=hostile)["X-Request-ID"] != hostile


@pytest.mark.django_db
def test_one_json_line_per_request_with_its_id_user_method_path_status_and_duration(world, make_client, json_lines):
    response = make_client(world.manager_a).get("/api/stocks/", HTTP_X_REQUEST_ID="req-1")
    assert response.status_code == 200
    (line,) = [line for line in json_lines() if line["logger"] == "core.requests"]
    assert {key: line[key] for key in ("request_id", "user_id", "method", "path", "status", "level")} == {
        "request_id": "req-1", "user_id": world.manager_a.pk, "method": "GET", "path": "/api/stocks/",
        "status": 200, "level": "INFO"}
    assert line["duration_ms"] >= 0 and "time" in line


@pytest.mark.django_db
def test_lines_written_while_serving_a_request_carry_its_id(anon, json_lines):
    anon.get("/api/no-such-endpoint/", HTTP_X_REQUEST_ID="req-404")
    lines = json_lines()
    assert lines and {line["request_id"] for line in lines} == {"req-404"}
    assert any(line["logger"] == "core.requests" and line["status"] == 404 for line in lines)


def test_outside_a_request_lines_have_an_empty_id_and_the_format_is_checked(json_lines):
    logging.getLogger("core.worker").info("task done")
    assert json_lines()[-1]["request_id"] == ""
    with pytest.raises(ValueError):
        logging_config(fmt="xml")
