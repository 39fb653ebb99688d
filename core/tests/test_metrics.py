"""Prometheus metrics for operators (issue 23, item 4): not public, and scraped here as Prometheus would."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from inventory.models import LowStockAlert
from inventory.tests.factories import LowStockAlertFactory, ReservationFactory

TOKEN = "scrape-secret-0123456789"


@pytest.fixture
def metrics_on(settings):
    settings.METRICS_ENABLED = True
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_IPS = []
    return settings


def scrape(client, token=TOKEN, **extra):
    return client.get("/metrics", **({"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}), **extra)


def value(text: str, sample: str) -> float:
    """The value of one sample line (`name{labels}`) of the Prometheus text format."""
    for line in text.splitlines():
        if line.startswith(sample + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no sample {sample} in:\n{text[:2000]}")


@pytest.mark.django_db
def test_metrics_are_off_by_default_even_with_a_token(anon, settings):
    settings.METRICS_TOKEN = TOKEN
    assert scrape(anon).status_code == 404


@pytest.mark.django_db
def test_an_enabled_endpoint_wants_the_token_or_an_allowed_address(anon, metrics_on):
    assert scrape(anon, token=None).status_code == 404
    assert scrape(anon, token="wrong").status_code == 404
    assert scrape(anon).status_code == 200
    metrics_on.METRICS_TOKEN = ""
    assert scrape(anon, token=None).status_code == 404  # enabled with neither: nobody
    metrics_on.METRICS_ALLOWED_IPS = ["127.0.0.1"]
    assert scrape(anon, token=None).status_code == 200  # the test client's peer is 127.0.0.1
    assert scrape(anon, token=None, REMOTE_ADDR="10.1.2.3").status_code == 404


@pytest.mark.django_db
def test_a_scrape_shows_requests_per_view_queries_and_the_domain_figures(world, make_client, anon, metrics_on):
    client = make_client(world.manager_a)
    assert client.get("/api/stocks/").status_code == 200
    assert client.get("/api/stocks/").status_code == 200
    LowStockAlertFactory(warehouse=world.wh_a, product=world.product, email_status=LowStockAlert.EmailStatus.QUEUED)
    LowStockAlertFactory(warehouse=world.wh_b, product=world.product, email_status=LowStockAlert.EmailStatus.FAILED)
    with time_machine.travel(timezone.now() - timedelta(hours=2)):
        ReservationFactory(warehouse=world.wh_a, product=world.product, quantity=1,
                           expires_at=timezone.now() + timedelta(hours=1))  # due an hour ago

    response = scrape(anon)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert value(text, 'django_http_responses_total_by_status_view_method_total'
                       '{method="GET",status="200",view="stock-list"}') >= 2
    assert 'django_http_requests_latency_seconds_by_view_method_bucket{le="0.1",method="GET",view="stock-list"}' in text
    assert value(text, 'django_db_queries_by_view_total{view="stock-list"}') >= 2
    assert value(text, 'inventory_alert_emails{state="pending"}') == 1
    assert value(text, 'inventory_alert_emails{state="failed"}') == 1
    assert value(text, "inventory_reservations_due_for_expiry") == 1
    assert value(text, "inventory_tasks_pending") >= 1  # the alert e-mail and the expiry run are queued
    assert value(text, "inventory_tasks_oldest_pending_age_seconds") >= 0
