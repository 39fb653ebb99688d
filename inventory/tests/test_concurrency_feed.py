"""The change feed on PostgreSQL with real connections: a row whose id is smaller but whose
transaction commits later is never skipped, and nothing is served twice across polls."""

import random
import threading
import time

import pytest
from django.db import DatabaseError, connection, transaction

from inventory.models import StockMovement
from inventory.services import assign_stock
from inventory.tests.factories import ProductFactory
from inventory.tests.horizon import HORIZON_TIMEOUT, wait_for_horizon

URL = "/api/stock-movements/"
TIMEOUT = 60


class Follower:
    """A live client of the feed: polls `after=<last id seen>` and follows `next` links."""

    def __init__(self, client, after: int):
        self.client, self.after, self.seen = client, after, []

    def poll(self) -> list[int]:
        new = []
        url, params = URL, {"after": self.after, "page_size": 3}
        while url:
            response = self.client.get(url, params)
            assert response.status_code == 200, response.content
            new += [row["id"] for row in response.data["results"]]
            url, params = response.data["next"], None
        if new:
            self.after = new[-1]
        self.seen += new
        return new

    def poll_until(self, count: int, timeout: float = HORIZON_TIMEOUT) -> None:
        """Poll until `count` rows were seen in all (the horizon may lag behind other databases)."""
        deadline = time.monotonic() + timeout
        while len(self.seen) < count:
            assert time.monotonic() < deadline, f"the feed stopped at {self.seen}"
            self.poll()
            time.sleep(0.05)


class OpenTransaction(threading.Thread):
    """Writes one movement in a transaction of its own connection and commits only when released."""

    def __init__(self, work):
        super().__init__()
        self.work, self.written, self.release = work, threading.Event(), threading.Event()
        self.movement_id, self.error = None, None

    def run(self):
        try:
            with transaction.atomic():
                self.work()
                self.movement_id = StockMovement.objects.order_by("-id").values_list("id", flat=True).first()
                self.written.set()
                assert self.release.wait(TIMEOUT)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc
            self.written.set()
        finally:
            connection.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_feed_waits_for_a_lower_id_still_in_flight_then_serves_it_first_and_skips_nothing(world, make_client):
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product2, quantity=1)
    wait_for_horizon()
    follower = Follower(make_client(world.admin), after=0)
    follower.poll_until(1)

    low = OpenTransaction(lambda: assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product,
                                               quantity=5))
    low.start()
    try:
        high = _commit_higher_ids_while_low_is_open(low, follower, world)
    finally:
        low.release.set()
        low.join(TIMEOUT)
    assert low.error is None, low.error
    follower.poll_until(1 + 1 + len(high))
    assert follower.seen[1:] == [low.movement_id, *high]  # its transaction began first: commit-aware order
    time.sleep(0.1)
    assert follower.poll() == []  # nothing is served twice


def _commit_higher_ids_while_low_is_open(low, follower, world) -> list[int]:
    assert low.written.wait(TIMEOUT) and low.error is None, low.error
    high = []
    for quantity in (1, 2, 3):  # committed at once, on another stock row (no lock wait)
        assign_stock(actor=world.admin, warehouse=world.wh_b, product=world.product2, quantity=quantity)
        high.append(StockMovement.objects.order_by("-id").values_list("id", flat=True).first())
    assert all(movement_id > low.movement_id for movement_id in high)

    # The hole is real: by id alone, a poll now would see the higher ids and never the lower one.
    visible = list(StockMovement.objects.filter(id__gt=follower.after).order_by("id").values_list("id", flat=True))
    assert visible == high and low.movement_id not in visible

    for _ in range(10):  # the feed holds the higher ids back while the lower one may still commit
        assert follower.poll() == []
        time.sleep(0.02)
    return high


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_followers_polling_during_racing_writers_see_every_movement_exactly_once(world, make_client):
    products = ProductFactory.create_batch(6)
    follower = Follower(make_client(world.admin), after=0)
    done, errors = threading.Event(), []

    def writer(index):
        rng = random.Random(index)
        try:
            for round_ in range(6):
                with transaction.atomic():
                    for product in sorted(rng.sample(products, 2), key=lambda p: p.pk):  # lock order
                        assign_stock(actor=world.admin, warehouse=world.wh_a, product=product, quantity=1 + round_)
                    time.sleep(rng.random() * 0.05)  # commit out of id order
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    def follow():
        try:
            while not done.is_set():
                follower.poll()
                time.sleep(0.01)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    reader = threading.Thread(target=follow)
    reader.start()
    writers = [threading.Thread(target=writer, args=(i,)) for i in range(6)]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join(TIMEOUT)
    done.set()
    reader.join(TIMEOUT)
    assert not errors, errors

    committed = list(StockMovement.objects.order_by("txid", "id").values_list("id", flat=True))
    assert len(committed) == 6 * 6 * 2
    follower.poll_until(len(committed))
    assert follower.seen == committed  # every row once, in one stable (commit-aware) order
    assert len(set(follower.seen)) == len(follower.seen)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_position_is_the_inserting_transactions_id_and_is_immutable_like_the_row(world):
    with transaction.atomic():
        assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=1)
        assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product2, quantity=1)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_current_xact_id()::text::bigint")
            (txid,) = cursor.fetchone()
    assign_stock(actor=world.admin, warehouse=world.wh_a, product=world.product, quantity=1)
    first, second, third = StockMovement.objects.order_by("id").values_list("txid", flat=True)
    assert first == second == txid < third  # set by the database, one per transaction, savepoints included

    for sql, params in (("UPDATE inventory_stockmovement SET txid = 0", []),
                        ("UPDATE inventory_stockmovement SET txid = txid + 1 WHERE txid = %s", [txid])):
        with pytest.raises(DatabaseError, match="immutable"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
    assert list(StockMovement.objects.order_by("id").values_list("txid", flat=True)) == [first, second, third]
