"""Prometheus metrics for operators: request rate, latency and status per view (django-prometheus), the
database queries per view, and the domain figures an operator pages on, computed at scrape time.

Served at `/metrics` only when `METRICS_ENABLED=true`, and then only to a caller that presents
`Authorization: Bearer <METRICS_TOKEN>` or comes from an address in `METRICS_ALLOWED_IPS` (at least one
of the two must be set: an enabled endpoint with neither refuses everyone). Everything else gets a 404,
as if there were no such page. With several gunicorn workers set `PROMETHEUS_MULTIPROC_DIR` (see
docs/DEPLOY.md): the request metrics are then summed over the workers.
"""

import hmac
import os
from collections.abc import Callable, Iterable

import prometheus_client
from django.conf import settings
from django.db import connection
from django.http import Http404, HttpResponse
from django.utils import timezone
from prometheus_client import Counter, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from .http import client_ip

# Each app registers the functions that yield its domain gauges (`register_figures` in AppConfig.ready).
_FIGURES: list[Callable[[], Iterable[GaugeMetricFamily]]] = []

QUERIES = Counter("django_db_queries_by_view_total", "Database queries run while serving a request, per view.",
                  ["view"])


def register_figures(figures: Callable[[], Iterable[GaugeMetricFamily]]) -> None:
    """Add a function yielding gauge families, read at every scrape (idempotent)."""
    if figures not in _FIGURES:
        _FIGURES.append(figures)


class DomainFigures(Collector):
    """The registered domain figures, computed from the database at scrape time."""

    def collect(self):
        for figures in _FIGURES:
            yield from figures()


def task_figures():
    """Background tasks waiting to run (READY and due) and the age of the oldest, in seconds."""
    from django_tasks_db.models import DBTaskResult, get_date_max

    now = timezone.now()
    due = DBTaskResult.objects.filter(status="READY").exclude(run_after__gt=now).exclude(run_after=get_date_max())
    due_now = DBTaskResult.objects.filter(status="READY", run_after=get_date_max())
    count = due.count() + due_now.count()
    oldest = min(filter(None, [due.order_by("enqueued_at").values_list("enqueued_at", flat=True).first(),
                               due_now.order_by("enqueued_at").values_list("enqueued_at", flat=True).first()]),
                 default=None)
    yield GaugeMetricFamily("inventory_tasks_pending", "Background tasks due and not yet taken by a worker.",
                            value=count)
    yield GaugeMetricFamily("inventory_tasks_oldest_pending_age_seconds",
                            "Age of the oldest due background task (0 when none waits).",
                            value=(now - oldest).total_seconds() if oldest else 0)


def _allowed(request) -> bool:
    token = getattr(settings, "METRICS_TOKEN", "")
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].encode(), token.encode()):
        return True
    return client_ip(request) in set(getattr(settings, "METRICS_ALLOWED_IPS", ()))


def metrics_view(request):
    """`GET /metrics`: the Prometheus text format; a 404 unless enabled and the caller is allowed."""
    if not getattr(settings, "METRICS_ENABLED", False) or not _allowed(request):
        raise Http404
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = prometheus_client.CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(DomainFigures())
    else:
        registry = prometheus_client.REGISTRY
    return HttpResponse(prometheus_client.generate_latest(registry), content_type=prometheus_client.CONTENT_TYPE_LATEST)


class QueryCountMiddleware:
    """Counts the database queries of each request under its view name (a no-op when metrics are off)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not getattr(settings, "METRICS_ENABLED", False):
            return self.get_response(request)
        count = 0

        def counting(execute, sql, params, many, context):
            nonlocal count
            count += 1
            return execute(sql, params, many, context)

        with connection.execute_wrapper(counting):
            response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        if count:
            QUERIES.labels(view=(match.view_name if match and match.view_name else "<unnamed view>")).inc(count)
        return response


_registered = False


def install() -> None:
    """Register the domain figures with the default registry once (CoreConfig.ready)."""
    global _registered
    if not _registered:
        prometheus_client.REGISTRY.register(DomainFigures())
        register_figures(task_figures)
        _registered = True
