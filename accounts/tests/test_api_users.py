"""GET /api/users/ and /api/users/{id}/: scope, filters, query counts."""

import pytest

from accounts.models import Role, User
from accounts.tests.factories import UserFactory

URL = "/api/users/"


def ids(response):
    return {row["id"] for row in response.data["results"]}


def test_admin_lists_everyone(world, make_client):
    response = make_client(world.admin).get(URL)
    assert response.status_code == 200
    assert response.data["count"] == User.objects.count()
    assert set(response.data) == {"count", "next", "previous", "results"}


def test_manager_lists_their_staff_and_pending_registrations_only(world, make_client, pending_staff, pending_viewer):
    other_pending_staff = UserFactory(staff=True, warehouse=world.wh_b, status=User.Status.PENDING)
    response = make_client(world.manager_a).get(URL)
    assert response.status_code == 200
    assert ids(response) == {world.staff_a.pk, pending_staff.pk, pending_viewer.pk}
    assert other_pending_staff.pk not in ids(response)


@pytest.mark.parametrize("who", ["staff_a", "viewer"])
def test_staff_and_viewers_may_not_list_users(world, make_client, who):
    response = make_client(getattr(world, who)).get(URL)
    assert response.status_code == 403
    assert response.data["code"] == "permission_denied"
    assert make_client(getattr(world, who)).get(f"{URL}{world.admin.pk}/").status_code == 403


def test_anonymous_gets_401(world, anon):
    response = anon.get(URL)
    assert response.status_code == 401
    assert set(response.data) == {"detail", "code"}


def test_manager_gets_404_for_a_user_outside_their_scope(world, make_client):
    client = make_client(world.manager_a)
    assert client.get(f"{URL}{world.staff_a.pk}/").status_code == 200
    for other in (world.staff_b, world.admin, world.manager_b, world.viewer):
        response = client.get(f"{URL}{other.pk}/")
        assert response.status_code == 404
        assert response.data["code"] == "not_found"


def test_admin_reads_any_user_and_unknown_id_is_404(world, make_client):
    client = make_client(world.admin)
    response = client.get(f"{URL}{world.staff_b.pk}/")
    assert response.status_code == 200
    assert response.data["role"] == Role.Name.STAFF
    assert response.data["warehouse"] == world.wh_b.pk
    assert client.get(f"{URL}999999/").status_code == 404
    assert client.get(f"{URL}{10**30}/").status_code == 404


@pytest.mark.parametrize(
    "query, expected",
    [
        ("role=manager", {"manager_a", "manager_b"}),
        ("role=staff&warehouse={wh_b}", {"staff_b"}),
        ("search=manager_", {"manager_a", "manager_b"}),
        ("status=pending", {"pending_viewer"}),
    ],
)
def test_admin_filters_users(world, make_client, pending_viewer, query, expected):
    response = make_client(world.admin).get(f"{URL}?{query.format(wh_b=world.wh_b.pk)}")
    assert response.status_code == 200
    assert {row["username"] for row in response.data["results"]} == expected


@pytest.mark.parametrize("query", ["role=emperor", "status=sleeping", "warehouse=abc", f"warehouse={10**30}"])
def test_invalid_filters_are_400(world, make_client, query):
    assert make_client(world.admin).get(f"{URL}?{query}").status_code == 400


def test_page_size_is_capped_and_paginates(world, make_client):
    response = make_client(world.admin).get(f"{URL}?page_size=2")
    assert len(response.data["results"]) == 2
    assert response.data["next"] is not None


@pytest.mark.parametrize("extra", [5, 50])
def test_user_list_query_count_does_not_grow_with_users(world, make_client, django_assert_num_queries, extra):
    UserFactory.create_batch(extra, staff=True, warehouse=world.wh_a)
    client = make_client(world.admin)
    # 1 authentication (user + role), 1 count, 1 page of users with their role.
    with django_assert_num_queries(3):
        response = client.get(f"{URL}?page_size=200")
    assert response.data["count"] == 6 + extra
