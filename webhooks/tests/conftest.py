import pytest
from cryptography.fernet import Fernet

from .receiver import start_receiver

TEST_KEY = Fernet.generate_key().decode()


@pytest.fixture(autouse=True)
def _encryption_keys(settings):
    """pytest-django runs with DEBUG off, as production: the secrets need a configured key."""
    settings.WEBHOOK_ENCRYPTION_KEYS = [TEST_KEY]


@pytest.fixture
def loopback(settings):
    """Deliveries may go to a receiver on 127.0.0.1 over http (the development settings)."""
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    settings.WEBHOOK_ALLOW_HTTP_HOSTS = ["127.0.0.1"]
    return settings


@pytest.fixture
def receiver(loopback):
    receiver = start_receiver()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()
