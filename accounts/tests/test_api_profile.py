"""GET/PUT/PATCH /api/profile/ and the image hardening of SPEC §3."""

import io
import os
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from accounts.models import AuditEvent, Role, User, UserProfile
from accounts.tests.conftest import snapshot
from accounts.tests.factories import PASSWORD

URL = "/api/profile/"


def image_bytes(fmt="PNG", size=(32, 24), mode="RGB", **save):
    buffer = io.BytesIO()
    Image.new(mode, size, color=(200, 30, 30) if mode == "RGB" else 1).save(buffer, format=fmt, **save)
    return buffer.getvalue()


def upload(data: bytes, name="avatar.png", content_type="image/png"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def stored_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_every_active_user_reads_their_own_profile(world, make_client):
    for user in (world.admin, world.manager_a, world.staff_a, world.viewer):
        response = make_client(user).get(URL)
        assert response.status_code == 200
        assert response.data["id"] == user.pk
        assert response.data["role"] == user.role.name
        assert set(response.data) == {"id", "username", "email", "first_name", "last_name", "role", "status",
                                      "warehouse", "date_joined", "phone", "bio", "image"}


def test_profile_needs_a_token(world, anon):
    assert anon.get(URL).status_code == 401


@pytest.mark.parametrize("method", ["put", "patch"])
def test_user_updates_their_names_email_phone_and_bio(world, make_client, method):
    body = {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "phone": "+44 20 1234",
            "bio": "Counts bolts.", "current_password": PASSWORD}
    response = getattr(make_client(world.staff_a), method)(URL, body, format="json")
    assert response.status_code == 200, response.data
    assert response.data["first_name"] == "Ada"
    assert response.data["phone"] == "+44 20 1234"
    world.staff_a.refresh_from_db()
    assert world.staff_a.email == "ada@example.com"
    assert UserProfile.objects.get(user=world.staff_a).bio == "Counts bolts."
    assert AuditEvent.objects.filter(action="user.profile_update", actor=world.staff_a).exists()


@pytest.mark.parametrize(
    "body, field",
    [
        ({"role": Role.Name.ADMIN}, "role"),
        ({"status": "active"}, "status"),
        ({"warehouse": 1}, "warehouse"),
        ({"username": "renamed"}, "username"),
        ({"is_staff": True}, "is_staff"),
        ({"is_superuser": True}, "is_superuser"),
        ({"first_name": "ok", "mystery": 1}, "mystery"),
        ({"email": "STAFF_B@example.com", "current_password": PASSWORD}, "email"),
        ({"email": "nope", "current_password": PASSWORD}, "email"),
        ({"email": "new@example.com"}, "current_password"),
        ({"email": "new@example.com", "current_password": "wrong"}, "current_password"),
        ({"email": "new@example.com", "current_password": ""}, "current_password"),
        ({"phone": "<script>"}, "phone"),
        ({"bio": "x" * 2001}, "bio"),
        ({"first_name": ["a"]}, "first_name"),
        ({"image": "not a file"}, "image"),
    ],
)
def test_profile_refuses_fields_it_does_not_own_and_bad_values(world, make_client, body, field):
    users, profiles = snapshot(User), snapshot(UserProfile)
    response = make_client(world.staff_a).patch(URL, body, format="json")
    assert response.status_code == 400
    assert field in response.data
    assert snapshot(User) == users
    assert snapshot(UserProfile) == profiles


def test_privileged_field_answers_not_writable(world, make_client):
    response = make_client(world.viewer).patch(URL, {"role": Role.Name.ADMIN}, format="json")
    assert response.data["role"] == ["This field is not writable."]


def test_malformed_json_is_400(world, make_client):
    response = make_client(world.viewer).patch(URL, data="{oops", content_type="application/json")
    assert response.status_code == 400


@pytest.mark.parametrize("method", ["put", "patch"])
@pytest.mark.parametrize("body", ["[" * 100_000 + "]" * 100_000, '{"bio": "\\ud800"}'])
def test_too_deep_or_unencodable_json_is_a_400_parse_error_not_500(world, make_client, method, body):
    response = getattr(make_client(world.viewer), method)(URL, data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


@pytest.mark.parametrize("fmt, suffix", [("JPEG", ".jpg"), ("PNG", ".png"), ("WEBP", ".webp")])
def test_image_upload_is_reencoded_and_stored_under_a_random_name(world, make_client, settings, fmt, suffix):
    data = image_bytes(fmt)
    response = make_client(world.staff_a).patch(URL, {"image": upload(data, name="../../evil name.gif")},
                                                format="multipart")
    assert response.status_code == 200, response.data
    files = stored_files(settings)
    assert len(files) == 1
    assert files[0].suffix == suffix
    assert "evil" not in files[0].name
    assert response.data["image"].endswith(files[0].name)
    with Image.open(files[0]) as stored:
        assert stored.format == fmt
        assert stored.size == (32, 24)


def test_image_metadata_is_stripped(world, make_client, settings):
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"  # Make
    exif[0x8825] = {2: (51.0, 30.0, 0.0)}  # GPS
    data = image_bytes("JPEG", exif=exif.tobytes(), comment=b"secret comment")
    with Image.open(io.BytesIO(data)) as original:
        assert original.getexif()  # the fixture really carries EXIF
    response = make_client(world.staff_a).patch(URL, {"image": upload(data, "a.jpg", "image/jpeg")},
                                                format="multipart")
    assert response.status_code == 200, response.data
    stored = stored_files(settings)[0].read_bytes()
    assert b"SpyCam" not in stored
    assert b"secret comment" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert not image.getexif()


def test_png_text_chunks_are_stripped(world, make_client, settings):
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Secret Person")
    data = image_bytes("PNG", pnginfo=info)
    assert b"Secret Person" in data
    response = make_client(world.staff_a).patch(URL, {"image": upload(data)}, format="multipart")
    assert response.status_code == 200
    assert b"Secret Person" not in stored_files(settings)[0].read_bytes()


def test_replacing_the_image_deletes_the_old_file(world, make_client, settings, django_capture_on_commit_callbacks):
    client = make_client(world.staff_a)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.patch(URL, {"image": upload(image_bytes("PNG"))}, format="multipart").status_code == 200
    first = stored_files(settings)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.patch(URL, {"image": upload(image_bytes("JPEG"), "b.jpg")}, format="multipart").status_code == 200
    second = stored_files(settings)
    assert len(second) == 1
    assert second != first
    assert not first[0].exists()


def test_image_can_be_removed_with_null(world, make_client, settings, django_capture_on_commit_callbacks):
    client = make_client(world.staff_a)
    with django_capture_on_commit_callbacks(execute=True):
        client.patch(URL, {"image": upload(image_bytes("PNG"))}, format="multipart")
        response = client.patch(URL, {"image": None}, format="json")
    assert response.status_code == 200
    assert response.data["image"] is None
    assert stored_files(settings) == []


def _truncated_png():
    return image_bytes("PNG", size=(300, 300))[:200]


def _bomb_png():
    # 5000×5000 one-bit image: a few kB on disk, 25 megapixels once decoded.
    buffer = io.BytesIO()
    Image.new("1", (5000, 5000)).save(buffer, format="PNG")
    return buffer.getvalue()


def _svg():
    return b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>'


@pytest.mark.parametrize(
    "data, name, message",
    [
        (b"just some text, honestly", "avatar.png", "JPEG, PNG or WebP"),
        (lambda: image_bytes("GIF"), "avatar.gif", "JPEG, PNG or WebP"),
        (lambda: image_bytes("BMP"), "avatar.png", "JPEG, PNG or WebP"),
        (_svg, "avatar.svg", "JPEG, PNG or WebP"),
        (_truncated_png, "avatar.png", "not a valid"),
        (_bomb_png, "avatar.png", "4096"),
        (lambda: image_bytes("PNG", size=(4097, 1), mode="1"), "wide.png", "4096"),
        (lambda: os.urandom(2 * 1024 * 1024 + 1), "big.png", "2 MiB"),
    ],
    ids=["text-named-png", "gif", "bmp", "svg", "truncated", "decompression-bomb", "too-wide", "too-big"],
)
def test_unacceptable_images_are_400_with_a_clear_message_and_nothing_is_stored(
    world, make_client, settings, data, name, message
):
    payload = data() if callable(data) else data
    profiles = snapshot(UserProfile)
    response = make_client(world.staff_a).patch(URL, {"image": upload(payload, name)}, format="multipart")
    assert response.status_code == 400
    assert message in str(response.data["image"])
    assert stored_files(settings) == []
    assert snapshot(UserProfile) == profiles


def test_a_large_valid_looking_file_is_refused_before_decoding(world, make_client, settings, monkeypatch):
    """Size is checked first: Pillow is never asked to open an oversized upload."""
    import accounts.images

    def explode(*args, **kwargs):
        raise AssertionError("Image.open must not be called for an oversized file")

    monkeypatch.setattr(accounts.images.Image, "open", explode)
    big = b"\x89PNG\r\n\x1a\n" + b"\0" * (2 * 1024 * 1024)
    response = make_client(world.staff_a).patch(URL, {"image": upload(big)}, format="multipart")
    assert response.status_code == 400
    assert "2 MiB" in str(response.data["image"])


def test_exif_orientation_is_applied_before_the_metadata_is_dropped(world, make_client, settings):
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    data = image_bytes("JPEG", size=(40, 20), exif=exif.tobytes())
    response = make_client(world.staff_a).patch(URL, {"image": upload(data, "a.jpg", "image/jpeg")},
                                                format="multipart")
    assert response.status_code == 200, response.data
    with Image.open(stored_files(settings)[0]) as stored:
        assert stored.size == (20, 40)
        assert 0x0112 not in stored.getexif()


def test_a_camera_jpeg_with_a_multi_picture_index_is_accepted_as_jpeg(world, make_client, settings):
    buffer = io.BytesIO()
    frames = [Image.new("RGB", (16, 16), "red"), Image.new("RGB", (16, 16), "blue")]
    frames[0].save(buffer, format="MPO", save_all=True, append_images=frames[1:])
    with Image.open(io.BytesIO(buffer.getvalue())) as probe:
        assert probe.format == "MPO"
    response = make_client(world.staff_a).patch(URL, {"image": upload(buffer.getvalue(), "cam.jpg", "image/jpeg")},
                                                format="multipart")
    assert response.status_code == 200, response.data
    stored = stored_files(settings)[0]
    assert stored.suffix == ".jpg"
    with Image.open(stored) as image:
        assert image.format == "JPEG"


# --- e-mail change (issue 24, item 2) ----------------------------------------------------------------

NOTICE_TASK = "accounts.tasks.send_email_change_notice"


def test_email_change_with_the_current_password_queues_a_notice_to_the_old_address(world, make_client):
    from django_tasks_db.models import DBTaskResult

    old = world.staff_a.email
    response = make_client(world.staff_a).patch(URL, {"email": "new@example.com", "current_password": PASSWORD},
                                                format="json")
    assert response.status_code == 200, response.data
    world.staff_a.refresh_from_db()
    assert world.staff_a.email == "new@example.com"
    [task] = DBTaskResult.objects.filter(task_path=NOTICE_TASK)
    assert task.args_kwargs["kwargs"] == {"user_id": world.staff_a.pk, "old_email": old}


def test_email_change_without_the_current_password_changes_nothing_and_sends_nothing(world, make_client):
    from django_tasks_db.models import DBTaskResult

    users = snapshot(User)
    response = make_client(world.staff_a).patch(URL, {"email": "new@example.com", "first_name": "X"}, format="json")
    assert response.status_code == 400
    assert "current_password" in response.data
    assert snapshot(User) == users
    assert not DBTaskResult.objects.filter(task_path=NOTICE_TASK).exists()


def test_other_fields_and_the_same_email_need_no_password(world, make_client):
    from django_tasks_db.models import DBTaskResult

    response = make_client(world.staff_a).patch(URL, {"email": world.staff_a.email, "first_name": "Ada"},
                                                format="json")
    assert response.status_code == 200, response.data
    assert not DBTaskResult.objects.filter(task_path=NOTICE_TASK).exists()


def test_the_notice_task_mails_the_old_address(world, mailoutbox):
    from accounts.tasks import send_email_change_notice

    result = send_email_change_notice.call(user_id=world.staff_a.pk, old_email="old@example.com")
    assert result == "sent"
    [message] = mailoutbox
    assert message.to == ["old@example.com"]
    assert "changed" in message.subject


def test_the_service_checks_the_current_password_again_under_the_lock(world):
    from accounts import services
    from accounts.errors import WrongPassword

    with pytest.raises(WrongPassword):
        services.update_profile(user=world.staff_a, data={"email": "new@example.com"})
    world.staff_a.refresh_from_db()
    assert world.staff_a.email == "staff_a@example.com"
