"""Low-stock alert e-mails: the worker's send task, its retries and the lease watchdog (Django's task API,
database backend).

`inventory.alerts` enqueues `send_low_stock_alert_email` in the transaction that opens an alert;
the worker (`python manage.py db_worker`) runs it after the commit. The database backend has no
automatic retry, so the task retries itself: on an SMTP or network error (`OSError`, which
`smtplib.SMTPException` is) it records the error and enqueues attempt + 1 with `run_after` set to
an exponential back-off, and after `LOW_STOCK_EMAIL_MAX_ATTEMPTS` it gives up and marks the alert
`failed`. The stock change that opened the alert has long committed; nothing here can undo it.

Crash safety (at-least-once): an attempt is *claimed* (`email_attempts` = attempt,
`email_claimed_at` = now) in the transaction that also enqueues `reclaim_lost_email_attempts` to
run when the lease (`LOW_STOCK_EMAIL_LEASE_SECONDS`) ends. An attempt that ends (sent, retrying,
failed) clears its claim, so the reaper finds nothing. A worker killed mid-send (its task row stays
RUNNING forever in django-tasks-db) leaves the claim behind: after the lease the reaper, holding the
alert's row lock, marks that task row failed and enqueues the next attempt, once. Every send task
also sweeps lost claims first, so a reaper lost with its own worker is covered by the next e-mail.
Duplicate window: a message the SMTP server accepted just before the worker died (or a worker that
outlives its lease) is sent again by the next attempt; see docs/DECISIONS.md.

An alert that resolved before its e-mail went out is not mailed (`email_status` "skipped").

Settings (optional): `LOW_STOCK_EMAIL_MAX_ATTEMPTS` (6), `LOW_STOCK_EMAIL_RETRY_BASE_SECONDS` (30:
30 s, 60 s, 120 s, ...), `LOW_STOCK_EMAIL_RETRY_MAX_SECONDS` (1800), `LOW_STOCK_EMAIL_LEASE_SECONDS`
(300; keep it well above the longest send, `EMAIL_TIMEOUT` × the SMTP round trips), `SITE_URL`
(prefix of the link in the message; a bare path when unset).
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone
from django_tasks import task

from accounts.models import Role, User
from accounts.roles import is_manager
from core.mail import max_attempts, retry_delay
from core.scheduling import serialize_scheduling

from .lots import is_expired
from .models import LowStockAlert

logger = logging.getLogger(__name__)

EmailStatus = LowStockAlert.EmailStatus
IN_PROGRESS = (EmailStatus.QUEUED, EmailStatus.RETRYING)

DEFAULT_LEASE_SECONDS = 5 * 60
EMAIL_TASK_PATH = "inventory.alert_emails.send_low_stock_alert_email"
WATCHDOG_TASK_PATH = "inventory.alert_emails.reclaim_lost_email_attempts"
# pg_advisory_xact_lock key of "schedule the e-mail watchdog" (any constant unique in this database).
WATCHDOG_SCHEDULE_LOCK = 0x1E5E_A1E7
RECLAIM_BATCH = 500


def lease() -> timedelta:
    """How long a claimed attempt may run before its worker counts as dead."""
    return timedelta(seconds=float(getattr(settings, "LOW_STOCK_EMAIL_LEASE_SECONDS", DEFAULT_LEASE_SECONDS)))


def alert_recipients(alert: LowStockAlert) -> list[str]:
    """The warehouse's manager (active, with an e-mail) and every active admin with an e-mail, deduplicated."""
    addresses = []
    manager = alert.warehouse.manager
    if manager is not None and manager.email and is_manager(manager):  # is_manager: active managers only
        addresses.append(manager.email)
    addresses += (
        User.objects.filter(role__name=Role.Name.ADMIN, status=User.Status.ACTIVE)
        .exclude(email="")
        .order_by("pk")
        .values_list("email", flat=True)
    )
    seen, unique = set(), []
    for address in addresses:
        if address.lower() not in seen:
            seen.add(address.lower())
            unique.append(address)
    return unique


def build_alert_message(alert: LowStockAlert, recipients: list[str]) -> EmailMultiAlternatives:
    """The plain-text message with its HTML alternative: a low-stock alert's, or an expiry alert's (naming the
    warehouse code, the SKU, the lot code and `expires_on`, SPEC §14)."""
    if alert.kind == LowStockAlert.Kind.EXPIRY:
        template = "expiry_alert"
        stock_path = f"/api/stock-lots/?warehouse={alert.warehouse_id}&lot={alert.lot_id}"
    else:
        template = "low_stock_alert"
        stock_path = f"/api/stocks/?warehouse={alert.warehouse_id}&product={alert.product_id}"
    context = {
        "alert": alert,
        "warehouse": alert.warehouse,
        "product": alert.product,
        "lot": alert.lot,
        "expired": alert.lot is not None and is_expired(alert.lot.expires_on),
        "stock_path": stock_path,
        "stock_url": getattr(settings, "SITE_URL", "").rstrip("/") + stock_path,
    }
    subject = " ".join(render_to_string(f"inventory/email/{template}_subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"inventory/email/{template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
    )
    message.attach_alternative(render_to_string(f"inventory/email/{template}.html", context), "text/html")
    return message


@task()
def send_low_stock_alert_email(alert_id: int, attempt: int = 1) -> str:
    """Send the e-mail of one alert to the warehouse's manager and every active admin.

    Idempotent: an alert whose e-mail is sent (or given up, or skipped) is left alone, and each
    attempt is claimed once (`email_attempts` goes from attempt-1 to attempt, under the alert's row
    lock), so a task run twice sends once. Takes over other attempts' lost claims first.
    Returns "sent", "retrying", "failed", "skipped", or why it did nothing.
    """
    # Lost claims are a cheap indexed query; stuck task rows (a table scan) are left to the watchdog.
    _reclaim_lost_claims(timezone.now() - lease())
    alert = (
        LowStockAlert.objects.select_related("product", "warehouse", "warehouse__manager__role", "lot")
        .filter(pk=alert_id)
        .first()
    )
    if alert is None:
        logger.warning("low-stock alert %s no longer exists; no e-mail sent", alert_id)
        return "missing"
    if alert.email_status not in IN_PROGRESS:
        return f"already {alert.email_status}"
    outcome, claimed_at = _claim(alert_id, attempt)
    if outcome != "claimed":
        return outcome

    recipients = alert_recipients(alert)
    if not recipients:
        _give_up(alert_id, attempt, claimed_at, "No active manager or admin with an e-mail address.")
        return "failed"
    try:
        build_alert_message(alert, recipients).send()
    except OSError as exc:  # SMTP errors, refused connections, timeouts
        return _retry_or_give_up(alert_id, attempt, claimed_at, f"{type(exc).__name__}: {exc}")
    except Exception as exc:  # a bug (template, data): no point in retrying, but let an operator see it
        _give_up(alert_id, attempt, claimed_at, f"{type(exc).__name__}: {exc}")
        raise
    # Sent is sent, even if this attempt outlived its lease and was taken over meanwhile.
    LowStockAlert.objects.filter(pk=alert_id).update(email_status=EmailStatus.SENT, email_error="",
                                                     email_claimed_at=None)
    logger.info("low-stock alert %s e-mailed to %s (attempt %s)", alert_id, ", ".join(recipients), attempt)
    return "sent"


def _claim(alert_id: int, attempt: int) -> tuple[str, datetime | None]:
    """Claim `attempt` under the alert's row lock: ("claimed", its time), ("skipped", None) or ("duplicate", None)."""
    with transaction.atomic():
        alert = (LowStockAlert.objects.select_for_update()
                 .filter(pk=alert_id, email_attempts=attempt - 1, email_status__in=IN_PROGRESS).first())
        if alert is None:
            logger.info("attempt %s of the e-mail of low-stock alert %s already ran", attempt, alert_id)
            return "duplicate", None
        if alert.status == LowStockAlert.Status.RESOLVED:
            # Back at or above the threshold before anyone was told: a "low stock" e-mail would be noise.
            LowStockAlert.objects.filter(pk=alert_id).update(
                email_status=EmailStatus.SKIPPED, email_claimed_at=None,
                email_error="Resolved before the e-mail went out; not sent.")
            logger.info("low-stock alert %s resolved before its e-mail went out; skipped", alert_id)
            return "skipped", None
        claimed_at = timezone.now()
        LowStockAlert.objects.filter(pk=alert_id).update(email_attempts=attempt, email_claimed_at=claimed_at)
        # Committed with the claim: if this worker dies, another one takes the attempt over after the lease.
        ensure_watchdog(claimed_at + lease())
        return "claimed", claimed_at


def _own_claim(alert_id: int, attempt: int, claimed_at: datetime):
    """The alert, row-locked, if this attempt still holds its claim (not taken over by the reaper)."""
    return (LowStockAlert.objects.select_for_update()
            .filter(pk=alert_id, email_attempts=attempt, email_claimed_at=claimed_at).first())


def _retry_or_give_up(alert_id: int, attempt: int, claimed_at: datetime, error: str) -> str:
    if attempt >= max_attempts():
        _give_up(alert_id, attempt, claimed_at, error)
        return "failed"
    run_after = timezone.now() + retry_delay(attempt)
    # The status and the next attempt are stored together: never one without the other.
    with transaction.atomic():
        if _own_claim(alert_id, attempt, claimed_at) is None:
            logger.warning("attempt %s of the e-mail of low-stock alert %s was taken over; it failed: %s",
                           attempt, alert_id, error)
            return "superseded"
        LowStockAlert.objects.filter(pk=alert_id).update(email_status=EmailStatus.RETRYING, email_error=error[:2000],
                                                         email_claimed_at=None)
        send_low_stock_alert_email.using(run_after=run_after).enqueue(alert_id=alert_id, attempt=attempt + 1)
    logger.warning("e-mail of low-stock alert %s failed (attempt %s of %s): %s; retrying after %s",
                   alert_id, attempt, max_attempts(), error, run_after.isoformat())
    return "retrying"


def _give_up(alert_id: int, attempt: int, claimed_at: datetime, error: str) -> None:
    with transaction.atomic():
        if _own_claim(alert_id, attempt, claimed_at) is None:
            return  # taken over: the next attempt decides
        LowStockAlert.objects.filter(pk=alert_id).update(email_status=EmailStatus.FAILED, email_error=error[:2000],
                                                         email_claimed_at=None)
    logger.error("e-mail of low-stock alert %s failed for good after %s attempt(s): %s", alert_id, attempt, error)


class WorkerLost(Exception):
    """Recorded on a task row whose worker died while it was running (it would stay RUNNING forever)."""


def reclaim_lost_attempts(now: datetime | None = None) -> int:
    """Take over every e-mail attempt whose worker died; return how many.

    Two ways to die: after claiming the attempt (the claim is older than the lease), or between the
    task row's claim and the attempt's (the task row has been RUNNING longer than the lease, the
    alert still waits for that attempt, unclaimed). Per alert, in its own transaction: lock the
    alert row (`select_for_update(skip_locked)`: another reaper holding it does the same work), then
    the task row, re-check, mark the dead task row failed (`WorkerLost`) and enqueue the attempt
    again — the next one after a claim (the lost attempt counts; after the last one the e-mail is
    `failed`), the same one if it never claimed. The re-check under the lock makes it happen once.
    """
    cutoff = (now or timezone.now()) - lease()
    return _reclaim_lost_claims(cutoff) + _reclaim_unclaimed_attempts(cutoff)


def _reclaim_lost_claims(cutoff: datetime) -> int:
    lost = Q(email_claimed_at__lte=cutoff, email_status__in=IN_PROGRESS)
    candidates = list(LowStockAlert.objects.filter(lost).order_by("pk").values_list("pk", flat=True)[:RECLAIM_BATCH])
    reclaimed = 0
    for alert_id in candidates:
        with transaction.atomic():
            alert = LowStockAlert.objects.select_for_update(skip_locked=True).filter(lost, pk=alert_id).first()
            if alert is None:
                continue  # the attempt ended meanwhile, or another reaper holds the row
            attempt = alert.email_attempts
            error = (f"WorkerLost: attempt {attempt} was claimed at {alert.email_claimed_at.isoformat()} "
                     f"and did not finish within the lease of {lease().total_seconds():g} s")
            _fail_lost_task_rows(alert_id, attempt, error)
            if attempt >= max_attempts():
                LowStockAlert.objects.filter(pk=alert_id).update(
                    email_status=EmailStatus.FAILED, email_error=error, email_claimed_at=None)
                logger.error("e-mail of low-stock alert %s failed for good: %s", alert_id, error)
            else:
                LowStockAlert.objects.filter(pk=alert_id).update(
                    email_status=EmailStatus.RETRYING, email_error=error, email_claimed_at=None)
                send_low_stock_alert_email.enqueue(alert_id=alert_id, attempt=attempt + 1)
                logger.warning("e-mail of low-stock alert %s: %s; attempt %s enqueued", alert_id, error, attempt + 1)
            reclaimed += 1
    return reclaimed


def _reclaim_unclaimed_attempts(cutoff: datetime) -> int:
    from django_tasks_db.models import DBTaskResult

    stuck = (DBTaskResult.objects.filter(task_path=EMAIL_TASK_PATH, status="RUNNING", started_at__lte=cutoff)
             .order_by("started_at").values_list("pk", "args_kwargs")[:RECLAIM_BATCH])
    reclaimed = 0
    for row_id, args_kwargs in stuck:
        alert_id, attempt = args_kwargs["kwargs"]["alert_id"], args_kwargs["kwargs"].get("attempt", 1)
        with transaction.atomic():  # lock order: the alert row, then the task row
            alert = LowStockAlert.objects.select_for_update(skip_locked=True).filter(pk=alert_id).first()
            if alert is not None and alert.email_attempts == attempt and alert.email_claimed_at is not None:
                continue  # it claimed: the claim's lease decides (above)
            row = DBTaskResult.objects.select_for_update(skip_locked=True).filter(pk=row_id, status="RUNNING")
            waiting = (alert is not None and alert.email_status in IN_PROGRESS
                       and alert.email_attempts == attempt - 1 and alert.email_claimed_at is None)
            error = (f"WorkerLost: the task started at or before {cutoff.isoformat()} and never finished"
                     + ("; enqueued again" if waiting else ""))
            if not row.update(status="FAILED", finished_at=timezone.now(), traceback=error,
                              exception_class_path=f"{__name__}.WorkerLost"):
                continue
            if waiting:  # it died before claiming: the attempt never ran, so it is not counted
                send_low_stock_alert_email.enqueue(alert_id=alert_id, attempt=attempt)
                logger.warning("e-mail of low-stock alert %s: %s", alert_id, error)
                reclaimed += 1
    return reclaimed


def _fail_lost_task_rows(alert_id: int, attempt: int, error: str) -> None:
    # django-tasks-db leaves the row of a task whose worker was killed RUNNING forever; say what happened.
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.filter(
        task_path=EMAIL_TASK_PATH, status="RUNNING",
        args_kwargs__kwargs__alert_id=alert_id, args_kwargs__kwargs__attempt=attempt,
    ).update(status="FAILED", finished_at=timezone.now(), exception_class_path=f"{__name__}.WorkerLost",
             traceback=error)


def ensure_watchdog(run_at: datetime, *, serialize: bool = True) -> None:
    """Make sure a watchdog run is queued at or before `run_at`.

    `serialize` takes an advisory lock so concurrent callers queue one run; callers inside a stock
    transaction pass False (no global lock held until their commit): a rare extra run is harmless,
    and the next watchdog run, which does serialize, schedules only one successor.
    """
    from django_tasks_db.models import DBTaskResult

    with transaction.atomic():
        if serialize:
            serialize_scheduling(WATCHDOG_SCHEDULE_LOCK)
        if not DBTaskResult.objects.filter(task_path=WATCHDOG_TASK_PATH, status="READY",
                                           run_after__lte=run_at).exists():
            reclaim_lost_email_attempts.using(run_after=run_at).enqueue()


@task()
def reclaim_lost_email_attempts() -> int:
    """The lease watchdog: take over lost attempts, then run again a lease later while any e-mail is pending.

    Queued when an alert's e-mail is enqueued and when an attempt is claimed; the chain ends when no
    e-mail is queued or retrying. Returns how many attempts it took over.
    """
    reclaimed = reclaim_lost_attempts()
    if LowStockAlert.objects.filter(email_status__in=IN_PROGRESS).exists():
        ensure_watchdog(timezone.now() + lease())
    return reclaimed
