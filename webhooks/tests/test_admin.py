"""Django admin: endpoints with their deliveries, never a secret; actions through the services."""

import pytest
from django.core.management import call_command
from django.test import Client

from accounts.models import AuditEvent
from accounts.tests.factories import UserFactory
from webhooks import services
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.secrets import decrypt

pytestmark = pytest.mark.django_db


@pytest.fixture
def site(world, loopback):
    root = UserFactory(admin=True, is_superuser=True, is_staff=True, username="root")
    client = Client()
    client.force_login(root)
    endpoint, secret = services.create_endpoint(actor=world.admin, url="http://127.0.0.1:9/hook", events=["*"])
    services.ping(actor=world.admin, endpoint=endpoint)
    return client, root, endpoint, secret


def test_the_admin_shows_endpoints_and_deliveries_but_never_the_secret(site):
    client, _, endpoint, secret = site
    pages = [client.get("/admin/webhooks/webhookendpoint/"),
             client.get(f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/"),
             client.get("/admin/webhooks/webhookdelivery/")]
    for page in pages:
        assert page.status_code == 200
        assert secret not in page.content.decode() and endpoint.secret_encrypted not in page.content.decode()
    assert "ping" in pages[1].content.decode()  # the delivery inline
    assert client.get("/admin/webhooks/webhookendpoint/add/").status_code == 403


def test_admin_actions_go_through_the_services(site):
    client, root, endpoint, _ = site
    response = client.post("/admin/webhooks/webhookendpoint/", {"action": "deactivate",
                                                                 "_selected_action": [endpoint.pk]})
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.is_active, endpoint.disabled_reason) == (False, "manual")
    assert WebhookDelivery.objects.get().status == "failed"
    assert AuditEvent.objects.filter(action="webhook.update", actor=root).exists()
    client.post("/admin/webhooks/webhookendpoint/", {"action": "reactivate", "_selected_action": [endpoint.pk]})
    client.post("/admin/webhooks/webhookdelivery/", {"action": "redeliver",
                                                     "_selected_action": [WebhookDelivery.objects.get().pk]})
    assert WebhookDelivery.objects.filter(status="pending").count() == 1


def test_the_admin_lists_a_managers_own_endpoints_only(site, world, rf):
    from django.contrib.admin.sites import site as admin_site

    _, _, admins, _ = site
    own, _ = services.create_endpoint(actor=world.manager_a, url="http://127.0.0.1:9/own", events=["*"])
    request = rf.get("/admin/webhooks/webhookendpoint/")
    request.user = world.manager_a
    model_admin = admin_site._registry[WebhookEndpoint]
    assert list(model_admin.get_queryset(request)) == [own]
    assert model_admin.has_delete_permission(request, own) and not model_admin.has_delete_permission(request, admins)


def test_reencrypt_puts_every_secret_under_the_first_key(site, settings):
    from cryptography.fernet import Fernet

    _, _, endpoint, secret = site
    old_keys = list(settings.WEBHOOK_ENCRYPTION_KEYS)
    new_key = Fernet.generate_key().decode()
    services.rotate_secret(actor=endpoint.created_by, endpoint=endpoint)
    settings.WEBHOOK_ENCRYPTION_KEYS = [new_key, *old_keys]
    call_command("reencrypt_webhook_secrets", verbosity=0)
    settings.WEBHOOK_ENCRYPTION_KEYS = [new_key]
    endpoint = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert decrypt(endpoint.previous_secrets[0]["secret"]) == secret
    assert decrypt(endpoint.secret_encrypted).startswith("whsec_")
