"""The alert e-mail task: recipients, content, idempotency, retries with back-off, giving up."""

import logging
import smtplib
from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from accounts.tests.factories import UserFactory
from inventory.alert_emails import retry_delay, send_low_stock_alert_email
from inventory.models import LowStockAlert
from inventory.services import adjust_stock, assign_stock
from inventory.tests.factories import ThresholdFactory

TASK_PATH = "inventory.alert_emails.send_low_stock_alert_email"
EmailStatus = LowStockAlert.EmailStatus


class SmtpDownBackend(BaseEmailBackend):
    """Every send fails like an unreachable SMTP server."""

    calls = 0

    def send_messages(self, email_messages):
        type(self).calls += 1
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


class BrokenBackend(BaseEmailBackend):
    """Every send fails with a programming error (not a network one)."""

    def send_messages(self, email_messages):
        raise ValueError("bad header")


@pytest.fixture
def alert(world):
    """An open alert on the product at warehouse A (10 → 3, threshold 5), its first task enqueued."""
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=10)
    ThresholdFactory(product=world.product, warehouse=world.wh_a, threshold=5)
    adjust_stock(actor=world.staff_a, warehouse=world.wh_a, product=world.product, delta=-7, reason="damage")
    return LowStockAlert.objects.get()


def run(alert, attempt=1):
    return send_low_stock_alert_email.call(alert_id=alert.pk, attempt=attempt)


def retries():
    return DBTaskResult.objects.filter(task_path=TASK_PATH).exclude(args_kwargs__kwargs__attempt=1)


@pytest.mark.django_db
def test_the_email_goes_to_the_warehouse_manager_and_the_active_admins_only(alert, world):
    admin2 = UserFactory(admin=True, username="admin2")
    UserFactory(admin=True, username="admin_gone", status="dismissed")
    UserFactory(admin=True, username="admin_silent", email="")

    assert run(alert) == "sent"

    (message,) = mail.outbox
    assert message.to == [world.manager_a.email, world.admin.email, admin2.email]
    alert.refresh_from_db()
    assert (alert.email_status, alert.email_attempts, alert.email_error) == (EmailStatus.SENT, 1, "")


@pytest.mark.django_db
def test_a_warehouse_manager_who_became_an_admin_gets_one_copy(alert, world):
    world.manager_a.role = world.admin.role
    world.manager_a.save()

    run(alert)

    assert mail.outbox[0].to == [world.admin.email, world.manager_a.email]


@pytest.mark.django_db
def test_a_dismissed_manager_is_not_emailed(alert, world):
    world.manager_a.status = "dismissed"
    world.manager_a.save()

    run(alert)

    assert mail.outbox[0].to == [world.admin.email]


@pytest.mark.django_db
def test_the_message_names_the_warehouse_product_quantities_and_links_the_stock_row(alert, world):
    run(alert)

    message = mail.outbox[0]
    path = f"/api/stocks/?warehouse={world.wh_a.pk}&product={world.product.pk}"
    assert message.subject == "Low stock: BOLT-1 in A (3 below threshold 5)"
    for text in ("A — Alpha", "BOLT-1 — Bolt", "Quantity:  3 pcs", "Threshold: 5 pcs", path):
        assert text in message.body
    (html, mimetype), = message.alternatives
    assert mimetype == "text/html"
    for text in ("A — Alpha", "BOLT-1 — Bolt", "<td>3 pcs", "<td>5 pcs", path.replace("&", "&amp;")):
        assert text in html


@pytest.mark.django_db
def test_names_are_escaped_in_html_but_not_in_plain_text(alert, world):
    world.product.name = "Bolts <M8> & nuts"
    world.product.save()

    run(alert)

    message = mail.outbox[0]
    assert "Bolts <M8> & nuts" in message.body
    assert "Bolts &lt;M8&gt; &amp; nuts" in message.alternatives[0][0]


@pytest.mark.django_db
def test_running_the_task_twice_sends_one_email(alert):
    assert run(alert) == "sent"
    assert run(alert) == "already sent"
    assert run(alert, attempt=2) == "already sent"

    assert len(mail.outbox) == 1
    alert.refresh_from_db()
    assert alert.email_attempts == 1


@pytest.mark.django_db
def test_an_attempt_that_already_ran_is_not_run_again(alert, settings):
    settings.EMAIL_BACKEND = "inventory.tests.test_alerts_tasks.SmtpDownBackend"
    assert run(alert) == "retrying"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

    assert run(alert, attempt=1) == "duplicate"  # e.g. the first task delivered twice
    assert mail.outbox == []
    assert run(alert, attempt=2) == "sent"
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_an_smtp_failure_records_the_error_and_schedules_the_next_attempt_with_back_off(alert, settings, caplog):
    settings.EMAIL_BACKEND = "inventory.tests.test_alerts_tasks.SmtpDownBackend"
    before = timezone.now()

    with caplog.at_level(logging.WARNING, logger="inventory.alert_emails"):
        assert run(alert) == "retrying"

    alert.refresh_from_db()
    assert (alert.status, alert.email_status, alert.email_attempts) == ("open", EmailStatus.RETRYING, 1)
    assert alert.email_error == "SMTPServerDisconnected: Connection unexpectedly closed"
    retry = retries().get()
    assert retry.args_kwargs["kwargs"] == {"alert_id": alert.pk, "attempt": 2}
    assert retry.status == "READY"
    assert before + timedelta(seconds=30) <= retry.run_after <= timezone.now() + timedelta(seconds=30)
    assert "failed (attempt 1 of 6)" in caplog.text


def test_the_back_off_doubles_from_30_seconds_and_is_capped_at_30_minutes():
    assert [retry_delay(n).total_seconds() for n in range(1, 9)] == [30, 60, 120, 240, 480, 960, 1800, 1800]


@pytest.mark.django_db
def test_after_the_last_attempt_the_alert_is_marked_failed_and_an_error_is_logged(alert, settings, caplog):
    settings.EMAIL_BACKEND = "inventory.tests.test_alerts_tasks.SmtpDownBackend"
    settings.LOW_STOCK_EMAIL_MAX_ATTEMPTS = 3
    SmtpDownBackend.calls = 0

    assert run(alert, 1) == "retrying"
    assert run(alert, 2) == "retrying"
    with caplog.at_level(logging.ERROR, logger="inventory.alert_emails"):
        assert run(alert, 3) == "failed"
    assert run(alert, 4) == "already failed"

    alert.refresh_from_db()
    assert (alert.email_status, alert.email_attempts) == (EmailStatus.FAILED, 3)
    assert SmtpDownBackend.calls == 3
    assert sorted(t.args_kwargs["kwargs"]["attempt"] for t in retries()) == [2, 3]
    assert "failed for good after 3 attempt(s)" in caplog.text
    assert [r.levelname for r in caplog.records if "failed for good" in r.message] == ["ERROR"]


@pytest.mark.django_db
def test_an_alert_nobody_can_receive_is_marked_failed(alert, world):
    world.manager_a.email = ""
    world.manager_a.save()
    world.admin.email = ""
    world.admin.save()

    assert run(alert) == "failed"

    alert.refresh_from_db()
    assert alert.email_status == EmailStatus.FAILED
    assert "No active manager or admin" in alert.email_error
    assert mail.outbox == [] and not retries().exists()


@pytest.mark.django_db
def test_a_programming_error_is_not_retried_but_marked_failed_and_raised(alert, settings):
    settings.EMAIL_BACKEND = "inventory.tests.test_alerts_tasks.BrokenBackend"

    with pytest.raises(ValueError):
        run(alert)

    alert.refresh_from_db()
    assert (alert.email_status, alert.email_error) == (EmailStatus.FAILED, "ValueError: bad header")
    assert not retries().exists()


@pytest.mark.django_db
def test_a_task_for_a_missing_alert_does_nothing(world):
    assert send_low_stock_alert_email.call(alert_id=999_999, attempt=1) == "missing"
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_failed_email_never_touches_the_stock_change(alert, world, settings):
    settings.EMAIL_BACKEND = "inventory.tests.test_alerts_tasks.SmtpDownBackend"
    settings.LOW_STOCK_EMAIL_MAX_ATTEMPTS = 1

    assert run(alert) == "failed"

    stock = world.product.stocks.get(warehouse=world.wh_a)
    assert stock.quantity == 3
    assert stock.movements.count() == 2
