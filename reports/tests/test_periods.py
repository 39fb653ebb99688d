"""Report periods are local calendar periods in the project time zone (here Europe/Berlin)."""

from datetime import date

import pytest

from inventory.models import StockMovement
from reports.selectors import period_containing
from workflows.tests.history import at, record_history

URL = "/api/reports/stock-movements/"
Kind = StockMovement.Kind


def _report(client, **params):
    response = client.get(URL, {"format": "json", **params})
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def sunday_night_and_monday_morning(world, berlin):
    record_history(warehouse=world.wh_a, product=world.product, entries=[
        (at(berlin, 2026, 3, 8, 23, 30), 10, Kind.ASSIGN),  # Sunday 23:30 local (22:30 UTC)
        (at(berlin, 2026, 3, 9, 0, 30), -4, Kind.ADJUST),  # Monday 00:30 local (Sunday 23:30 UTC)
    ])


def test_sunday_2330_local_belongs_to_that_week_and_that_day(world, sunday_night_and_monday_morning, make_client):
    week = _report(make_client(world.admin), period="weekly", date="2026-03-08")
    assert week["period"] == {"start": "2026-03-02T00:00:00+01:00", "end": "2026-03-09T00:00:00+01:00",
                              "time_zone": "Europe/Berlin"}
    assert week["movement_count"] == 1
    assert week["rows"][0] == {"warehouse": world.wh_a.pk, "product": world.product.pk, "sku": "BOLT-1",
                                    "opening": 0, "in": 10, "out": 0, "closing": 10}
    day = _report(make_client(world.admin), period="daily", date="2026-03-08")
    assert (day["movement_count"], day["rows"][0]["closing"]) == (1, 10)


def test_monday_0030_local_belongs_to_the_next_week(world, sunday_night_and_monday_morning, make_client):
    week = _report(make_client(world.admin), period="weekly", date="2026-03-11")
    assert week["period"]["start"] == "2026-03-09T00:00:00+01:00"
    assert week["movement_count"] == 1
    assert week["rows"][0] == {"warehouse": world.wh_a.pk, "product": world.product.pk, "sku": "BOLT-1",
                                    "opening": 10, "in": 0, "out": 4, "closing": 6}


def test_month_boundary_is_local_midnight(world, berlin, make_client):
    record_history(warehouse=world.wh_a, product=world.product, entries=[
        (at(berlin, 2026, 1, 31, 23, 59), 5, Kind.ASSIGN),
        (at(berlin, 2026, 2, 1, 0, 0), 7, Kind.ASSIGN),
    ])
    january = _report(make_client(world.admin), period="monthly", date="2026-01-15")
    february = _report(make_client(world.admin), period="monthly", date="2026-02-28")
    assert january["period"]["end"] == february["period"]["start"] == "2026-02-01T00:00:00+01:00"
    assert (january["movement_count"], january["rows"][0]["closing"]) == (1, 5)
    assert february["movement_count"] == 1
    assert [february["rows"][0][k] for k in ("opening", "in", "out", "closing")] == [5, 7, 0, 12]


def test_a_stock_that_did_not_move_is_listed_with_its_balance(world, berlin, make_client):
    record_history(warehouse=world.wh_a, product=world.product,
                   entries=[(at(berlin, 2026, 1, 5, 9, 0), 5, Kind.ASSIGN)])
    record_history(warehouse=world.wh_a, product=world.product2, entries=[
        (at(berlin, 2026, 1, 5, 9, 0), 5, Kind.ASSIGN), (at(berlin, 2026, 1, 6, 9, 0), -5, Kind.ADJUST)])
    march = _report(make_client(world.admin), period="monthly", date="2026-03-01")
    # BOLT-1 holds 5 units without moving; NUT-1 is empty and idle, so it is not listed.
    assert [(r["sku"], r["opening"], r["closing"]) for r in march["rows"]] == [("BOLT-1", 5, 5)]
    assert march["movement_count"] == 0


def test_weeks_start_on_monday_and_months_follow_the_calendar(berlin):
    assert period_containing(kind="weekly", day=date(2026, 3, 8)).first_day == date(2026, 3, 2)
    assert period_containing(kind="weekly", day=date(2026, 3, 9)).first_day == date(2026, 3, 9)
    leap = period_containing(kind="monthly", day=date(2028, 2, 10))
    assert (leap.first_day, leap.days) == (date(2028, 2, 1), 29)


def test_the_daylight_saving_day_is_a_23_hour_period(world, berlin, make_client):
    day = _report(make_client(world.admin), period="daily", date="2026-03-29")["period"]
    assert (day["start"], day["end"]) == ("2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00")


def test_date_defaults_to_today_in_the_project_time_zone(world, berlin, time_machine, make_client):
    time_machine.move_to(at(berlin, 2026, 3, 9, 0, 30), tick=False)  # still Sunday in UTC
    assert _report(make_client(world.admin), period="daily")["period"]["start"] == "2026-03-09T00:00:00+01:00"
