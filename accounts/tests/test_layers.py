"""accounts is the lowest domain layer: its code imports no app above it (not even inside a function) and
reaches no warehouse row through the ORM."""

import ast
from pathlib import Path

import accounts

HIGHER_APPS = {"warehouses", "inventory", "workflows", "dashboards", "reports"}
ROOT = Path(accounts.__file__).parent


def imported_modules(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def non_test_modules() -> list[Path]:
    return [path for path in ROOT.rglob("*.py") if "tests" not in path.relative_to(ROOT).parts]


def test_accounts_code_imports_no_higher_app():
    offenders = {
        f"{path.relative_to(ROOT)}: {module}"
        for path in non_test_modules()
        for module in imported_modules(ast.parse(path.read_text(), filename=str(path)))
        if module.split(".")[0] in HIGHER_APPS
    }
    assert not offenders, sorted(offenders)


def test_the_layer_check_sees_imports_inside_functions():
    tree = ast.parse("def f():\n    from workflows.models import PurchaseRequest\n    import reports.views\n")
    assert imported_modules(tree) == {"workflows.models", "reports.views"}


def test_accounts_code_takes_no_orm_detour_into_warehouses():
    """The layering is honest: no model reached through a relation's `related_model`, no warehouse row
    read or written through `managed_warehouses` (that code is `warehouses.staffing`)."""
    offenders = {
        f"{path.relative_to(ROOT)}: {word}"
        for path in non_test_modules()
        for word in ("related_model", "managed_warehouses", "select_for_update().filter(Q(manager")
        if word in path.read_text()
    }
    assert not offenders, sorted(offenders)
