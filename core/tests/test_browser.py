"""A real browser (Debian's Chromium driven by Playwright) on the pages people look at.

No browser is downloaded: Playwright drives `/usr/bin/chromium` (`apt-get install chromium`, which
.ci/run does). Without it these tests are skipped, visibly. Screenshots go to $SCREENSHOT_DIR
(default `artifacts/screenshots/`), printed at the end of the run for CI to keep.
"""

import os
import shutil
from pathlib import Path

import pytest

from accounts.tests.factories import PASSWORD, UserFactory
from inventory.models import StockMovement
from inventory.services import assign_stock, reserve_stock
from inventory.tests.factories import ProductFactory
from warehouses.tests.factories import WarehouseFactory

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(os.environ.get("SCREENSHOT_DIR") or Path(__file__).resolve().parents[2] / "artifacts" / "screenshots")

pytestmark = [pytest.mark.browser, pytest.mark.heavy]


@pytest.fixture
def page(monkeypatch):
    if not os.path.exists(CHROMIUM):
        pytest.skip("needs Debian's chromium (apt-get install chromium)")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes between
    # page actions are still synchronous and on their own connection.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        yield page
        browser.close()


def shot(page, name: str) -> None:
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")


def log_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")


def test_an_admin_sees_stock_and_the_read_only_ledger_and_approves_a_request(live_server, page, transactional_db):
    admin = UserFactory(admin=True, is_superuser=True, is_staff=True, username="root")
    viewer = UserFactory(viewer=True, username="buyer")
    warehouse = WarehouseFactory(code="NORTH", name="North")
    product = ProductFactory(sku="BOLT-9", name="Bolt nine")
    assign_stock(actor=admin, warehouse=warehouse, product=product, quantity=40)
    reserve_stock(actor=admin, warehouse=warehouse, product=product, quantity=12, reference="ORDER-1")
    from workflows.services import create_purchase_request

    purchase = create_purchase_request(actor=viewer, warehouse=warehouse, product=product, quantity=3)

    log_in(page, live_server.url, "root")
    shot(page, "01-admin-index")

    page.goto(f"{live_server.url}/admin/inventory/stock/")
    row = page.locator("#result_list tbody tr").first
    assert "BOLT-9" in row.locator(".field-product").inner_text()
    buckets = {name: row.locator(f".field-{name}").inner_text().strip()
               for name in ("quantity", "reserved", "available", "incoming")}
    assert buckets == {"quantity": "40", "reserved": "12", "available": "28", "incoming": "0"}
    shot(page, "02-stock-list")

    page.goto(f"{live_server.url}/admin/inventory/stockmovement/")
    page.locator("#result_list tbody tr th a").first.click()
    page.wait_for_selector("#content")
    assert page.locator("input[name=_save]").count() == 0, "the ledger must be read-only in the admin"
    assert "assign" in page.content()
    shot(page, "03-ledger-entry-read-only")

    page.goto(f"{live_server.url}/admin/workflows/purchaserequest/")
    page.locator(f"#result_list input[name=_selected_action][value='{purchase.pk}']").check()
    page.select_option("select[name=action]", "approve_selected")
    page.click("button[name=index]")
    page.wait_for_selector(".messagelist")
    assert "1 request(s) approved." in page.locator(".messagelist").inner_text()
    shot(page, "04-purchase-approved")
    purchase.refresh_from_db()
    assert purchase.status == "approved"
    assert StockMovement.objects.filter(reference_id=purchase.pk, kind="purchase").count() == 1


def test_swagger_ui_renders_the_operations_from_local_static_files(live_server, page, transactional_db):
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".opblock", timeout=20_000)
    assert page.locator(".opblock").count() > 30
    assert page.locator("text=/api/stocks/assign/").count() >= 1
    shot(page, "05-swagger-ui")
    foreign = [url for url in requested if not url.startswith(live_server.url) and not url.startswith("data:")]
    assert not foreign, f"Swagger UI fetched from elsewhere: {foreign}"


SPA = """<!doctype html><title>spa</title><script>
window.run = async (api, username, password, warehouse, product) => {
  const out = {};
  try {
    const json = {"Content-Type": "application/json"};
    let r = await fetch(api + "/api/auth/login/", {method: "POST", headers: json,
                                                     body: JSON.stringify({username, password})});
    out.login = r.status;
    const auth = {"Authorization": "Bearer " + (await r.json()).access};
    r = await fetch(api + "/api/stocks/?warehouse=" + warehouse, {headers: auth});
    out.stocks = [r.status, (await r.json()).results.map(row => row.quantity)];
    const adjust = {method: "POST", headers: {...auth, ...json, "Idempotency-Key": "spa-adjust-1"},
                    body: JSON.stringify({warehouse, product, delta: -2, reason: "damage"})};
    r = await fetch(api + "/api/stocks/adjust/", adjust);
    out.adjust = [r.status, (await r.json()).quantity, r.headers.get("Idempotent-Replayed")];
    r = await fetch(api + "/api/stocks/adjust/", adjust);
    out.replay = [r.status, (await r.json()).quantity, r.headers.get("Idempotent-Replayed")];
  } catch (error) {
    out.error = String(error);
  }
  return out;
};
</script>"""


@pytest.fixture
def spa_origins():
    """Two loopback origins serving the same single-page app (a static page), each on its own port."""
    import http.server
    import threading

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = SPA.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    servers = [http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page) for _ in range(2)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield [f"http://127.0.0.1:{server.server_address[1]}" for server in servers]
    for server in servers:
        server.shutdown()
        server.server_close()


def test_a_spa_on_an_allowed_origin_calls_the_api_and_another_origin_is_blocked(
        live_server, page, transactional_db, spa_origins, settings):
    allowed, foreign = spa_origins
    settings.CORS_ALLOWED_ORIGINS = [allowed]
    manager = UserFactory(manager=True, username="spa.manager")
    warehouse = WarehouseFactory(code="SPA", name="Spa", manager=manager)
    product = ProductFactory(sku="SPA-1", name="Spa bolt")
    assign_stock(actor=manager, warehouse=warehouse, product=product, quantity=10)
    args = [live_server.url, "spa.manager", PASSWORD, warehouse.pk, product.pk]

    page.goto(allowed)
    result = page.evaluate("args => window.run(...args)", args)
    assert result == {"login": 200, "stocks": [200, [10]], "adjust": [200, 8, None],
                      "replay": [200, 8, "true"]}, result
    assert StockMovement.objects.filter(warehouse=warehouse, kind="adjust").count() == 1

    page.goto(foreign)
    result = page.evaluate("args => window.run(...args)", args)
    assert result == {"error": "TypeError: Failed to fetch"}, result
    assert StockMovement.objects.filter(warehouse=warehouse, kind="adjust").count() == 1
