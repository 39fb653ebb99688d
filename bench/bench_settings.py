"""Settings of the list benchmark's server: the product's settings, with a URL module that adds the baseline.

Only `bench/list_bench.py` uses it (gunicorn started with DJANGO_SETTINGS_MODULE=bench_settings); the
product's URLs never contain the baseline view.
"""

from inventory_project.settings import *  # noqa: F403 - the product's settings, unchanged but for the URLs

ROOT_URLCONF = "bench_urls"
