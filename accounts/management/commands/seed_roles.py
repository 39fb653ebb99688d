from django.core.management.base import BaseCommand

from accounts.models import Role
from accounts.roles import ensure_roles


class Command(BaseCommand):
    help = "Create the four roles (admin, manager, staff, viewer) if missing. Idempotent."

    def handle(self, *args, **options):
        created = ensure_roles(Role)
        self.stdout.write(f"roles: {created} created, {Role.objects.count()} in total")
