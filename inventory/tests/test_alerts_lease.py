"""Crash safety of the alert e-mail: a claimed attempt whose worker died is taken over after the lease, once."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from core.testing import run_threads
from inventory.alert_emails import (
    _claim,
    _retry_or_give_up,
    reclaim_lost_attempts,
    reclaim_lost_email_attempts,
    send_low_stock_alert_email,
)
from inventory.models import LowStockAlert
from inventory.services import adjust_stock, assign_stock, set_threshold
from inventory.tests.factories import ThresholdFactory

EMAIL_TASK = "inventory.alert_emails.send_low_stock_alert_email"
RECLAIM_TASK = "inventory.alert_emails.reclaim_lost_email_attempts"
EmailStatus = LowStockAlert.EmailStatus


@pytest.fixture
def alert(world, settings):
    """An open alert (10 → 3, threshold 5) with its first e-mail task enqueued; a 60-second lease."""
    settings.LOW_STOCK_EMAIL_LEASE_SECONDS = 60
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=10)
    ThresholdFactory(product=world.product, warehouse=world.wh_a, threshold=5)
    adjust_stock(actor=world.staff_a, warehouse=world.wh_a, product=world.product, delta=-7, reason="damage")
    return LowStockAlert.objects.get()


def claim_and_die(alert, attempt=1):
    """What a worker killed in the middle of sending leaves: its claim, and its task row RUNNING forever."""
    DBTaskResult.objects.filter(task_path=EMAIL_TASK, args_kwargs__kwargs__attempt=attempt).update(
        status="RUNNING", started_at=timezone.now(), worker_ids=["killed"])
    outcome, claimed_at = _claim(alert.pk, attempt)
    assert outcome == "claimed"
    return claimed_at


def email_tasks(**filters):
    return DBTaskResult.objects.filter(task_path=EMAIL_TASK, **filters)


@pytest.mark.django_db
def test_a_watchdog_waits_from_the_alert_on_and_a_finished_attempt_leaves_no_claim(alert):
    (watchdog,) = DBTaskResult.objects.filter(task_path=RECLAIM_TASK, status="READY")
    assert timezone.now() < watchdog.run_after <= timezone.now() + timedelta(seconds=60)
    assert send_low_stock_alert_email.call(alert_id=alert.pk, attempt=1) == "sent"
    assert DBTaskResult.objects.filter(task_path=RECLAIM_TASK).count() == 1  # the claim reused it: one waits
    alert.refresh_from_db()
    assert (alert.email_status, alert.email_attempts, alert.email_claimed_at) == (EmailStatus.SENT, 1, None)
    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        assert reclaim_lost_email_attempts.call() == 0
    assert DBTaskResult.objects.filter(task_path=RECLAIM_TASK).count() == 1  # nothing pending: no successor
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_the_watchdog_runs_again_a_lease_later_while_an_email_is_pending(alert):
    DBTaskResult.objects.filter(task_path=RECLAIM_TASK).delete()
    with time_machine.travel(timezone.now(), tick=False):
        assert reclaim_lost_email_attempts.call() == 0  # the alert's e-mail is still queued
        (successor,) = DBTaskResult.objects.filter(task_path=RECLAIM_TASK, status="READY")
        assert successor.run_after == timezone.now() + timedelta(seconds=60)
        assert reclaim_lost_email_attempts.call() == 0
    assert DBTaskResult.objects.filter(task_path=RECLAIM_TASK, status="READY").count() == 1  # never two


@pytest.mark.django_db
def test_a_worker_killed_after_taking_the_task_but_before_claiming_the_attempt_is_replaced(alert):
    started = timezone.now()
    DBTaskResult.objects.filter(task_path=EMAIL_TASK).update(status="RUNNING", started_at=started,
                                                             worker_ids=["killed"])
    with time_machine.travel(started + timedelta(seconds=59), tick=False):
        assert reclaim_lost_attempts() == 0
    with time_machine.travel(started + timedelta(seconds=61), tick=False):
        assert reclaim_lost_attempts() == 1
        assert reclaim_lost_attempts() == 0

    dead = email_tasks(worker_ids=["killed"]).get()
    assert (dead.status, dead.exception_class_path) == ("FAILED", "inventory.alert_emails.WorkerLost")
    (again,) = email_tasks(status="READY")
    assert again.args_kwargs["kwargs"] == {"alert_id": alert.pk, "attempt": 1}  # it never ran: not counted
    assert send_low_stock_alert_email.call(alert_id=alert.pk, attempt=1) == "sent"
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_an_attempt_whose_worker_died_is_taken_over_after_the_lease_exactly_once(alert):
    claimed_at = claim_and_die(alert)

    with time_machine.travel(claimed_at + timedelta(seconds=59), tick=False):
        assert reclaim_lost_attempts() == 0  # still within the lease: the worker may be alive
    with time_machine.travel(claimed_at + timedelta(seconds=61), tick=False):
        assert reclaim_lost_attempts() == 1
        assert reclaim_lost_attempts() == 0  # the claim is gone: no second take-over

    alert.refresh_from_db()
    assert (alert.email_status, alert.email_attempts, alert.email_claimed_at) == (EmailStatus.RETRYING, 1, None)
    assert alert.email_error.startswith("WorkerLost: attempt 1 was claimed at")
    dead = email_tasks(args_kwargs__kwargs__attempt=1).get()
    assert (dead.status, dead.exception_class_path) == ("FAILED", "inventory.alert_emails.WorkerLost")
    (retry,) = email_tasks(status="READY")
    assert retry.args_kwargs["kwargs"] == {"alert_id": alert.pk, "attempt": 2}

    assert send_low_stock_alert_email.call(alert_id=alert.pk, attempt=2) == "sent"
    assert send_low_stock_alert_email.call(alert_id=alert.pk, attempt=1) == "already sent"
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_any_send_task_first_takes_over_lost_claims_of_other_alerts(alert, world):
    claimed_at = claim_and_die(alert)
    set_threshold(actor=world.admin, warehouse=world.wh_a, product=world.product2, threshold=1)  # 0 < 1: an alert
    other = LowStockAlert.objects.exclude(pk=alert.pk).get()

    with time_machine.travel(claimed_at + timedelta(seconds=61), tick=False):
        assert send_low_stock_alert_email.call(alert_id=other.pk, attempt=1) == "sent"

    alert.refresh_from_db()
    assert (alert.email_status, alert.email_claimed_at) == (EmailStatus.RETRYING, None)
    ready = email_tasks(status="READY", args_kwargs__kwargs__alert_id=alert.pk)
    assert [t.args_kwargs["kwargs"]["attempt"] for t in ready] == [2]


@pytest.mark.django_db
def test_a_lost_last_attempt_marks_the_email_failed(alert, settings):
    settings.LOW_STOCK_EMAIL_MAX_ATTEMPTS = 1
    claimed_at = claim_and_die(alert)
    with time_machine.travel(claimed_at + timedelta(seconds=61), tick=False):
        assert reclaim_lost_attempts() == 1
    alert.refresh_from_db()
    assert alert.email_status == EmailStatus.FAILED and alert.email_claimed_at is None
    assert not email_tasks(status="READY").exists()


@pytest.mark.django_db
def test_an_attempt_taken_over_while_still_sending_does_not_schedule_another_retry(alert, settings):
    claimed_at = claim_and_die(alert)
    with time_machine.travel(claimed_at + timedelta(seconds=61), tick=False):
        assert reclaim_lost_attempts() == 1

    # The "dead" worker was only slow: its send fails now, after the take-over.
    assert _retry_or_give_up(alert.pk, 1, claimed_at, "SMTPServerDisconnected: timed out") == "superseded"
    assert [t.args_kwargs["kwargs"]["attempt"] for t in email_tasks(status="READY")] == [2]


@pytest.mark.django_db
def test_an_alert_resolved_before_its_email_went_out_is_not_mailed(alert, world):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=10)
    alert.refresh_from_db()
    assert alert.status == "resolved"

    assert send_low_stock_alert_email.call(alert_id=alert.pk, attempt=1) == "skipped"

    alert.refresh_from_db()
    assert (alert.email_status, alert.email_claimed_at) == (EmailStatus.SKIPPED, None)
    assert "Resolved before the e-mail went out" in alert.email_error
    assert mail.outbox == [] and DBTaskResult.objects.filter(task_path=RECLAIM_TASK).count() == 1  # from the alert
    assert send_low_stock_alert_email.call(alert_id=alert.pk, attempt=1) == "already skipped"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_reapers_take_a_lost_attempt_over_once(alert):
    claimed_at = claim_and_die(alert)

    with time_machine.travel(claimed_at + timedelta(seconds=61)):
        results = run_threads(8, lambda index: reclaim_lost_attempts())

    assert sorted(results) == [0] * 7 + [1], results
    assert [t.args_kwargs["kwargs"]["attempt"] for t in email_tasks(status="READY")] == [2]
