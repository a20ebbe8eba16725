"""The shape of the code, held by tests: dependencies run one way (leads uses campaigns,
campaigns is configuration and uses nothing of leads outside its admin), and nothing
but tests reaches for Django's test tools."""

import ast
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at its top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def _code(app: str) -> list[Path]:
    """The app's modules, its tests and migrations aside."""
    return [
        path
        for path in sorted((ROOT / app).rglob("*.py"))
        if "tests" not in path.relative_to(ROOT).parts and "migrations" not in path.relative_to(ROOT).parts
    ]


def test_campaigns_imports_nothing_from_leads_outside_its_admin():
    offenders = {
        str(path.relative_to(ROOT)): sorted(name for name in _imports(path) if name.split(".")[0] == "leads")
        for path in _code("campaigns")
        if path.name != "admin.py"
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_only_tests_use_django_test_tools():
    offenders = [
        str(path.relative_to(ROOT))
        for app in ("campaigns", "leads", "leadsite")
        for path in _code(app)
        if path.name != "testing.py" and any(name.startswith("django.test") for name in _imports(path))
    ]
    assert offenders == []


def test_the_checker_sees_imports_inside_functions(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from leads.models import Lead\n    import leads.transitions\n")
    assert _imports(sample) == {"leads.models", "leads.transitions"}
