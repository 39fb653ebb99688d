"""Look-alike identities: usernames and e-mails are unique by `core.identity.identity_key` (NFKC + casefold),
and identifiers that mix Latin with Cyrillic or Greek letters are refused."""

import pytest
from django.db import IntegrityError, transaction

from accounts.models import Role, User
from accounts.tests.factories import PASSWORD, UserFactory
from core.identity import identity_key, refuse_mixed_scripts, scripts_of
from warehouses import staffing

REGISTER = "/api/auth/register/"
LOGIN = "/api/auth/login/"
CYRILLIC_A = "\u0430"  # а, looks like Latin a
GOOD_PASSWORD = "Str0ng-pass-phrase!"

pytestmark = pytest.mark.django_db


def register(client, username, email):
    return client.post(REGISTER, {"username": username, "email": email, "password": GOOD_PASSWORD}, format="json")


def test_identity_key_folds_width_case_and_composition():
    assert identity_key("ＢＯＬＴ-1") == identity_key("bolt-1") == "bolt-1"
    assert identity_key("É") == identity_key("é") == identity_key("E\u0301")  # precomposed or combining
    assert identity_key("  Bolt ") == "bolt"
    assert identity_key("Straße") == identity_key("STRASSE")


def test_mixed_scripts_are_detected_by_letter_names():
    assert scripts_of(f"{CYRILLIC_A}dmin") == {"LATIN", "CYRILLIC"}
    assert scripts_of("José_1") == {"LATIN"}
    assert scripts_of("Σοφία") == {"GREEK"}
    assert refuse_mixed_scripts("ＢＯＬＴ-1") == "ＢＯＬＴ-1"  # fullwidth Latin is Latin


def test_a_cyrillic_a_admin_cannot_register_beside_admin(world, anon):
    response = register(anon, f"{CYRILLIC_A}dmin1", "spoof@example.com")
    assert response.status_code == 400
    assert "Cyrillic" in response.json()["username"][0]
    assert not User.objects.filter(email="spoof@example.com").exists()


def test_a_fullwidth_twin_of_a_username_is_taken(world, anon):
    response = register(anon, "ＶＩＥＷＥＲ1", "twin@example.com")
    assert response.status_code == 400
    assert "username" in response.json()


def test_accented_usernames_differing_only_in_case_are_one(world, anon):
    assert register(anon, "José", "jose@example.com").status_code == 201
    response = register(anon, "JOSÉ", "jose2@example.com")
    assert response.status_code == 400
    assert "username" in response.json()


def test_a_fullwidth_or_accented_twin_of_an_email_is_taken(world, anon):
    assert register(anon, "first", "anna@exämple.com").status_code == 201
    for twin in ("anna@EXÄMPLE.com", "anna@ｅｘäｍｐｌｅ.com"):
        response = register(anon, f"second{len(twin)}", twin)
        assert response.status_code == 400, twin
        assert "email" in response.json()


def test_an_email_mixing_scripts_is_refused(world, anon):
    response = register(anon, "mixer", f"mixer@ex{CYRILLIC_A}mple.com")
    assert response.status_code == 400
    assert "email" in response.json()


def test_the_register_service_refuses_a_twin_that_skipped_the_serializer(world):
    from core.errors import DomainError

    with pytest.raises(DomainError) as info:
        staffing.register_user(username="ＶＩＥＷＥＲ1", email="x@example.com", password=GOOD_PASSWORD,
                               role=Role.Name.VIEWER)
    assert info.value.code == "duplicate_account"


def test_the_database_refuses_twins_that_skip_every_check(world):
    with pytest.raises(IntegrityError), transaction.atomic():
        UserFactory(username="VIEWEＲ1")  # a fullwidth Ｒ: a twin of viewer1
    with pytest.raises(IntegrityError), transaction.atomic():
        UserFactory(username="someone", email="VIEWER1@ＥＸＡＭＰＬＥ.COM")


def test_keys_follow_saves_with_update_fields(world):
    user = world.viewer
    user.username, user.email = "Renamed", "New@Example.com"
    user.save(update_fields=["username", "email"])
    assert User.objects.filter(username_key="renamed", email_key="new@example.com", pk=user.pk).exists()


def test_login_by_a_width_or_case_variant_of_the_username(world, anon):
    response = anon.post(LOGIN, {"username": "ＳＴＡＦＦ_Ａ", "password": PASSWORD}, format="json")
    assert response.status_code == 200


def test_profile_email_cannot_take_a_twin_of_another_users_email(world, make_client):
    response = make_client(world.staff_a).patch("/api/profile/", {"email": "VIEWER1@ｅｘａｍｐｌｅ.com"},
                                                format="json")
    assert response.status_code == 400
    assert "email" in response.json()
    assert User.objects.get(pk=world.staff_a.pk).email == "staff_a@example.com"


def test_bulk_created_users_get_their_keys(db):
    User.objects.bulk_create([User(username="Bulk", email="Bulk@Example.com", role=Role.get(Role.Name.VIEWER))])
    assert User.objects.get(username_key="bulk").email_key == "bulk@example.com"


def test_the_admin_answers_a_twin_username_with_a_form_error(world):
    from django.test import Client

    root = UserFactory(admin=True, is_superuser=True, is_staff=True, username="root")
    client = Client()
    client.force_login(root)
    UserFactory(username="José")
    response = client.post("/admin/accounts/user/add/", {
        "username": "JOSÉ", "password1": "Another-Strong-Pass-7", "password2": "Another-Strong-Pass-7",
        "usable_password": "true", "role": Role.get(Role.Name.VIEWER).pk, "status": "active", "warehouse": "",
    })
    assert response.status_code == 200  # the form again, with its error; not a 500
    # Django's own case-insensitive check answers first where the database folds "É" (PostgreSQL);
    # the identity key answers where it does not (SQLite). Either way: an error on the username field.
    errors = response.context["adminform"].form.errors
    assert "username" in errors, errors
    assert any(phrase in str(errors["username"]) for phrase in ("ignoring case and width", "already exists"))
    assert not User.objects.filter(username="JOSÉ").exists()
