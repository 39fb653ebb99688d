"""Creating the same warehouse code or product SKU at once: one wins, the rest get a clean 400."""

import pytest

from core.testing import run_threads
from inventory.models import Product
from warehouses.models import Warehouse

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]



@pytest.mark.parametrize("url,model,field", [("/api/warehouses/", Warehouse, "code"),
                                             ("/api/products/", Product, "sku")])
def test_concurrent_creates_with_one_code_in_different_cases_yield_one_row(make_client, world, url, model, field):
    def work(index):
        body = {field: "race-1" if index % 2 else "RACE-1", "name": f"Racer {index}"}
        return make_client(world.admin).post(url, body, format="json").status_code

    statuses = run_threads(10, work)
    assert sorted(statuses) == [201] + [400] * 9
    assert model.objects.filter(**{f"{field}__iexact": "race-1"}).count() == 1
