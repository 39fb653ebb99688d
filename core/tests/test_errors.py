"""Error codes: each app declares its own, every code has one status, and docs/DECISIONS.md lists them all."""

import re
from pathlib import Path

import pytest

from core.errors import Code, DomainError, all_codes, register_codes, status_of

DECISIONS = Path(__file__).resolve().parents[2] / "docs" / "DECISIONS.md"


def _documented() -> dict[str, set[int]]:
    """`code -> statuses` from the table under "## Errors" in docs/DECISIONS.md."""
    text = DECISIONS.read_text()
    table = text[text.index("## Errors"):]
    documented: dict[str, set[int]] = {}
    for status, codes in re.findall(r"^\| (\d{3}) \| (.+) \|$", table, flags=re.MULTILINE):
        for code in re.findall(r"`([a-z_]+)`", re.sub(r"\([^)]*\)", "", codes)):
            documented.setdefault(code, set()).add(int(status))
    return documented


def test_every_registered_code_is_documented_with_its_status():
    documented = _documented()
    missing = {code: entry.status for code, entry in all_codes().items()
               if entry.status not in documented.get(code, set())}
    assert not missing, f"add these to the Errors table of docs/DECISIONS.md: {missing}"


def test_every_documented_code_is_registered():
    codes = all_codes()
    assert set(_documented()) <= set(codes), set(_documented()) - set(codes)


def test_an_unregistered_code_is_refused_when_the_error_is_defined_or_raised():
    with pytest.raises(ValueError, match="not registered"):
        type("Bogus", (DomainError,), {"code": "no_such_code"})
    with pytest.raises(ValueError, match="not registered"):
        DomainError("x", code="no_such_code")


def test_the_status_comes_from_the_code():
    assert status_of(DomainError(code="insufficient_stock")) == 409
    assert status_of(DomainError(code="not_found")) == 404


def test_each_app_declares_its_own_codes():
    from inventory import errors as inventory_errors
    from warehouses import errors as warehouse_errors

    assert "insufficient_stock" in inventory_errors.CODES and "duplicate_code" in warehouse_errors.CODES
    assert {"insufficient_stock", "duplicate_code", "duplicate_account", "invalid_decision"} <= set(all_codes())


def test_a_code_registered_twice_differently_is_refused():
    with pytest.raises(ValueError, match="registered twice"):
        register_codes({"not_found": Code(410, "gone")})
