"""verify_ledger knows transfers (`reserved` counts approved, unshipped lines; `incoming` the units on their way),
the services re-check their policies under the lock, and the data migration gives old transfers their line."""

import importlib
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction

from core.errors import PermissionDenied
from inventory.models import Stock
from workflows import services
from workflows.models import TransferLine, TransferRequest

from .conftest import put_stock
from .factories import TransferRequestFactory

pytestmark = pytest.mark.django_db


class Rollback(Exception):
    """Undo a test-only corruption."""


def _mismatch_after(corrupt) -> str:
    out = StringIO()
    with pytest.raises(Rollback), transaction.atomic():
        corrupt()
        with pytest.raises(CommandError, match="1 mismatch"):
            call_command("verify_ledger", stdout=out)
        raise Rollback
    return out.getvalue()


def _in_transit(world, *, ship: bool):
    put_stock(world, world.wh_a, 10)
    transfer = services.create_transfer_request(actor=world.admin, source=world.wh_a, destination=world.wh_b,
                                                product=world.product, quantity=4, mode="in_transit")
    services.decide_transfer_request(actor=world.admin, request_id=transfer.pk, decision="approve")
    if ship:
        services.ship_transfer(actor=world.admin, transfer_id=transfer.pk)
    return transfer


def test_verify_ledger_counts_an_approved_transfers_hold_in_reserved(world):
    transfer = _in_transit(world, ship=False)
    source = Stock.objects.get(warehouse=world.wh_a, product=world.product)
    assert "0 mismatches" in _run()
    # a transfer that lost its hold (cancelled behind the door's back) leaves `reserved` unexplained
    out = _mismatch_after(lambda: TransferRequest.objects.filter(pk=transfer.pk).update(status="cancelled"))
    assert f"reserved mismatch at stock {source.pk}: expected 0, found 4" in out


def test_verify_ledger_checks_incoming_against_the_lines_in_transit(world):
    transfer = _in_transit(world, ship=True)
    destination = Stock.objects.get(warehouse=world.wh_b, product=world.product)
    assert destination.incoming == 4 and "0 mismatches" in _run()
    line = TransferLine.objects.get(transfer=transfer)
    out = _mismatch_after(lambda: TransferLine.objects.filter(pk=line.pk).update(rejected_quantity=1))
    assert f"incoming mismatch at stock {destination.pk}: expected 3, found 4" in out


def _run() -> str:
    out = StringIO()
    call_command("verify_ledger", stdout=out)
    return out.getvalue()


def test_services_recheck_the_policy_under_the_lock(world):
    """The API's permission classes are not the only guard: a direct service call is refused too."""
    transfer = _in_transit(world, ship=False)
    with pytest.raises(PermissionDenied):
        services.ship_transfer(actor=world.staff_b, transfer_id=transfer.pk)
    services.ship_transfer(actor=world.staff_a, transfer_id=transfer.pk)
    line = TransferLine.objects.get(transfer=transfer)
    with pytest.raises(PermissionDenied):
        services.receive_transfer(actor=world.manager_a, transfer_id=transfer.pk,
                                  receipts=[{"line": line.pk, "accepted": 1, "rejected": 0}])
    with pytest.raises(PermissionDenied):
        services.close_transfer(actor=world.staff_b, transfer_id=transfer.pk, reason="lost")


def test_the_data_migration_gives_every_old_transfer_one_line(world):
    migration = importlib.import_module("workflows.migrations.0003_transfer_lines_and_transit")
    pending = TransferRequestFactory(source_warehouse=world.wh_a, destination_warehouse=world.wh_b,
                                     product=world.product, quantity=3, requested_by=world.manager_a, lines=[])
    approved = TransferRequestFactory(source_warehouse=world.wh_a, destination_warehouse=world.wh_b,
                                      product=world.product2, quantity=5, requested_by=world.manager_a,
                                      status="approved", lines=[])
    TransferLine.objects.all().delete()
    migration.one_line_per_transfer(apps, None)
    lines = {line.transfer_id: line for line in TransferLine.objects.all()}
    assert (lines[pending.pk].product_id, lines[pending.pk].quantity, lines[pending.pk].shipped_quantity) == (
        world.product.pk, 3, 0)
    assert (lines[approved.pk].quantity, lines[approved.pk].shipped_quantity,
            lines[approved.pk].received_quantity) == (5, 5, 5)
