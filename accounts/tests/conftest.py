"""Fixtures for the accounts tests."""

import pytest

from accounts.models import User
from accounts.tests.factories import UserFactory


@pytest.fixture
def pending_staff(world):
    """A pending staff registration for warehouse A."""
    return UserFactory(staff=True, username="pending_staff", warehouse=world.wh_a, status=User.Status.PENDING)


@pytest.fixture
def pending_viewer(world):
    """A pending viewer registration."""
    return UserFactory(viewer=True, username="pending_viewer", status=User.Status.PENDING)


def snapshot(model):
    """Every row of a model as plain values, to assert that nothing changed."""
    return list(model.objects.order_by("pk").values())

