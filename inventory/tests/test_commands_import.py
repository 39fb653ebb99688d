"""`import_products` and `import_stock`: the API's validation, report and all-or-nothing rule, for operators."""

import json

import pytest
from django.core.management import CommandError, call_command

from inventory.models import Product, Stock, StockMovement

pytestmark = pytest.mark.django_db


def run(name, path, *args):
    from io import StringIO

    out, err = StringIO(), StringIO()
    call_command(name, str(path), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_import_products_prints_the_summary_and_shows_progress(world, tmp_path):
    path = tmp_path / "products.csv"
    path.write_text("sku,name\n" + "".join(f"C-{i:05d},Name {i}\n" for i in range(9_000)))
    out, err = run("import_products", path)
    assert json.loads(out) == {"created": 9_000, "updated": 0, "unchanged": 0, "dry_run": False}
    assert "reading 100%" in err
    assert Product.objects.filter(sku__startswith="C-").count() == 9_000


def test_import_products_lists_every_bad_row_and_writes_nothing(world, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("sku,name\nA-1,\n,B\nA-1,Again\n")
    with pytest.raises(CommandError, match="3 problems"):
        run("import_products", path)
    assert not Product.objects.filter(sku="A-1").exists()


def test_import_stock_sets_with_a_dry_run_first(world, tmp_path):
    path = tmp_path / "stock.csv"
    path.write_text("warehouse_code,sku,quantity\nA,BOLT-1,4\n")
    out, _ = run("import_stock", path, "--mode", "set", "--dry-run", "--no-progress")
    assert json.loads(out) == {"changed": 1, "unchanged": 0, "dry_run": True}
    assert not StockMovement.objects.exists()
    out, _ = run("import_stock", path, "--mode", "set", "--user", world.manager_a.username)
    assert json.loads(out)["changed"] == 1
    assert Stock.objects.get(warehouse=world.wh_a, product=world.product).quantity == 4


def test_import_stock_applies_the_users_policy(world, tmp_path):
    path = tmp_path / "stock.csv"
    path.write_text("warehouse_code,sku,quantity\nA,BOLT-1,4\n")
    with pytest.raises(CommandError, match="permission_denied"):
        run("import_stock", path, "--user", world.staff_a.username)
    with pytest.raises(CommandError, match="1 problem"):
        run("import_stock", path, "--user", world.manager_b.username)
    with pytest.raises(CommandError, match="No active user"):
        run("import_stock", path, "--user", "nobody")
    with pytest.raises(CommandError, match="Cannot read"):
        run("import_stock", tmp_path / "missing.csv")
    big = tmp_path / "big.csv"
    big.write_bytes(b"warehouse_code,sku,quantity\n" + b"A,BOLT-1,1\n" * 500_000)
    with pytest.raises(CommandError, match="larger than 5 MiB"):
        run("import_stock", big)
