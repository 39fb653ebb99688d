"""`manage.py reencrypt_webhook_secrets`: re-encrypt every stored webhook secret under the first key of
WEBHOOK_ENCRYPTION_KEYS (after a key rotation), so an old key can be removed."""

from django.core.management.base import BaseCommand
from django.db import transaction

from webhooks.models import WebhookEndpoint
from webhooks.secrets import reencrypt


class Command(BaseCommand):
    help = "Re-encrypt every webhook secret under the first key of WEBHOOK_ENCRYPTION_KEYS."

    def handle(self, *args, **options):
        count = 0
        for pk in WebhookEndpoint.objects.order_by("pk").values_list("pk", flat=True):
            with transaction.atomic():
                endpoint = WebhookEndpoint.objects.select_for_update().get(pk=pk)
                endpoint.secret_encrypted = reencrypt(endpoint.secret_encrypted)
                endpoint.previous_secrets = [{**p, "secret": reencrypt(p["secret"])} for p in endpoint.previous_secrets]
                endpoint.save(update_fields=["secret_encrypted", "previous_secrets"])
            count += 1
        self.stdout.write(f"Re-encrypted the secrets of {count} webhook endpoint(s).")
