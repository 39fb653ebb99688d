#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""
import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inventory_project.settings")
    # A checkout with no configuration at all (neither DEBUG nor SECRET_KEY) is a developer's: manage.py
    # runs it in debug, with the per-checkout generated key. Anything configured — a SECRET_KEY set, or
    # DEBUG said either way — is left alone, and the WSGI/ASGI entry points (gunicorn) never default:
    # a server started with no environment still refuses to run (settings fail closed).
    if not os.environ.get("DEBUG") and not os.environ.get("SECRET_KEY"):
        os.environ["DEBUG"] = "true"
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
