import pytest

from .receiver import start_receiver


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
