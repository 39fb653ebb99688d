"""JSON only (SPEC §8): multipart only where a file is uploaded, and an upload cap checked before reading."""

import time

import pytest

from accounts.tests.factories import PASSWORD

HUNDRED_MIB = 100 * 1024 * 1024
# The first bytes of a large multipart body. The test client's input stream refuses (AssertionError) any read
# beyond the bytes it holds, so announcing 100 MiB in Content-Length while holding a few bytes proves that
# the server answered without reading the body — without allocating 100 MiB.
HEAD = b'--B\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n'


def announce(client, method, path, length, content_type="multipart/form-data; boundary=B"):
    started = time.monotonic()
    response = client.generic(method, path, HEAD, content_type=content_type, CONTENT_LENGTH=str(length))
    return response, time.monotonic() - started


def test_a_100_mib_multipart_post_to_register_is_refused_unread(db, anon):
    response, seconds = announce(anon, "POST", "/api/auth/register/", HUNDRED_MIB)
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
    assert seconds < 2


@pytest.mark.parametrize("path", ["/api/auth/register/", "/api/auth/login/", "/api/auth/refresh/"])
@pytest.mark.parametrize("content_type", ["multipart/form-data; boundary=B", "application/x-www-form-urlencoded"])
def test_anonymous_endpoints_accept_json_only(db, anon, path, content_type):
    response = anon.generic("POST", path, b"username=a&password=b", content_type=content_type)
    assert response.status_code == 415
    assert response.json() == {"detail": response.json()["detail"], "code": "unsupported_media_type"}


def test_form_bodies_are_refused_where_no_file_is_uploaded(world, make_client):
    response = make_client(world.admin).generic("POST", "/api/warehouses/", b"code=Z&name=Zed",
                                                content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415


def test_json_still_works(world, anon):
    response = anon.post("/api/auth/login/", {"username": "viewer1", "password": PASSWORD}, format="json")
    assert response.status_code == 200


def test_the_profile_takes_multipart_but_an_oversized_body_is_refused_unread(world, make_client):
    client = make_client(world.staff_a)
    response, seconds = announce(client, "PATCH", "/api/profile/", HUNDRED_MIB)
    assert response.status_code == 400
    assert response.json() == {"detail": "The request body is larger than 3 MiB.", "code": "bad_request"}
    assert seconds < 2
    assert client.get("/api/profile/").json()["image"] is None


def test_the_upload_cap_is_the_setting(world, make_client, settings):
    settings.UPLOAD_MAX_BYTES = 1024
    body = b'--B\r\nContent-Disposition: form-data; name="bio"\r\n\r\n' + b"x" * 2000 + b"\r\n--B--\r\n"
    response = make_client(world.staff_a).generic("PATCH", "/api/profile/", body,
                                                  content_type="multipart/form-data; boundary=B")
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"
    assert make_client(world.staff_a).get("/api/profile/").json()["bio"] == ""
    settings.UPLOAD_MAX_BYTES = 4096
    response = make_client(world.staff_a).generic("PATCH", "/api/profile/", body,
                                                  content_type="multipart/form-data; boundary=B")
    assert response.status_code == 200
    assert response.json()["bio"] == "x" * 2000
