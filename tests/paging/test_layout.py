"""The house: imports in paging/ run one way, floor by floor; the wings never meet; no circles.

Read from the source with `ast` (every import, at the top or inside a function), so a module
that reaches a floor above its own, however late it imports, fails here.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Each part of paging/ and its floor, bottom first: a module imports its own floor or below.
FLOORS = [
    {"paging", "paging.models", "paging.actions", "paging.queue", "paging.maintenance"}
    | {"paging.checks", "paging.migrations", "paging.rotation", "paging.vapid"},
    {"paging.ingest", "paging.notify"},
    {"paging.engine"},
    {"paging.tasks", "paging.api", "paging.admin", "paging.urls", "paging.management"}
    | {"paging.admin_incident", "paging.rules"}
    # The app's ready() wires receivers (notify's for schedules' override signal): on top.
    | {"paging.apps"},
]
WINGS = ("paging.ingest", "paging.notify")


def _name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def paging_modules() -> dict[str, Path]:
    """Return every module of paging/ by its dotted name."""
    return {_name(path): path for path in sorted((ROOT / "paging").rglob("*.py"))}


def _targets(node: ast.AST, here: str, known: dict[str, Path]) -> list[str]:
    """Return the modules of paging/ that one import statement names."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = node.module or ""
    if node.level:  # relative: from the importing module's package
        package = here.split(".")[: -node.level or None]
        base = ".".join([*package, base] if base else package)
    return [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]


def import_graph() -> dict[str, set[str]]:
    """Return, for each module of paging/, the modules of paging/ it imports."""
    known = paging_modules()
    graph = {}
    for name, path in known.items():
        tree = ast.parse(path.read_text(), str(path))
        found = {t for node in ast.walk(tree) for t in _targets(node, name, known)}
        graph[name] = {t for t in found if t in known and t != name}
    return graph


def part_of(module: str) -> str | None:
    """Return the part of `module` named in FLOORS (the longest that contains it).

    The package `paging` itself is one part; it does not hold every module below it.
    """
    parts = [p for floor in FLOORS for p in floor if module == p or _inside(module, p)]
    return max(parts, key=len, default=None)


def _inside(module: str, part: str) -> bool:
    return part != "paging" and module.startswith(part + ".")


def floor_of(module: str) -> int:
    part = part_of(module)
    return next(i for i, floor in enumerate(FLOORS) if part in floor)


def upward(graph: dict[str, set[str]]) -> list[str]:
    """Return each import of a floor above the importer's own."""
    return [
        f"{module} imports {target}"
        for module, targets in sorted(graph.items())
        for target in sorted(targets)
        if floor_of(target) > floor_of(module)
    ]


def between_wings(graph: dict[str, set[str]]) -> list[str]:
    """Return each import from one wing into the other."""
    wing = {m: next((w for w in WINGS if part_of(m) == w), None) for m in graph}
    return [
        f"{module} imports {target}"
        for module, targets in sorted(graph.items())
        for target in sorted(targets)
        if wing[module] and wing[target] and wing[module] != wing[target]
    ]


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Return the groups of modules that import each other in a circle (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in graph.get(module, ()):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            group = []
            while not group or group[-1] != module:
                group.append(stack.pop())
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def test_every_module_of_paging_has_a_floor():
    assert [m for m in paging_modules() if part_of(m) is None] == []


def test_no_module_of_paging_imports_a_floor_above_its_own():
    assert upward(import_graph()) == []


def test_the_wings_never_import_each_other():
    assert between_wings(import_graph()) == []


def test_no_modules_of_paging_import_each_other_in_a_circle():
    assert circles(import_graph()) == []


def test_the_checks_find_what_they_look_for():
    graph = {
        "paging.models": {"paging.engine"},
        "paging.engine": {"paging.notify.delivery"},
        "paging.notify.delivery": {"paging.notify.callbacks", "paging.ingest.store"},
        "paging.notify.callbacks": {"paging.notify.delivery"},
        "paging.ingest.store": set(),
    }

    assert upward(graph) == ["paging.models imports paging.engine"]
    assert between_wings(graph) == ["paging.notify.delivery imports paging.ingest.store"]
    assert circles(graph) == [["paging.notify.callbacks", "paging.notify.delivery"]]


def test_each_wing_says_its_one_job_in_one_line():
    for wing in WINGS:
        init = ROOT / wing.replace(".", "/") / "__init__.py"
        doc = ast.get_docstring(ast.parse(init.read_text()))

        assert doc and "\n" not in doc, f"{init}: a one-line opening comment"


def _apps_imported_by(app: str) -> set[str]:
    """Return the top-level packages that `app`'s modules import (migrations left out)."""
    found = set()
    for path in (ROOT / app).rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module.split(".")[0])
    return found


def test_the_floors_below_paging_know_nothing_of_it():
    below = {"escalation": {"paging", "config", "web"}}
    below["schedules"] = below["escalation"] | {"escalation"}
    below["accounts"] = below["schedules"] | {"schedules"}

    assert {app: _apps_imported_by(app) & above for app, above in below.items()} == {
        app: set() for app in below
    }


def test_nothing_below_the_top_floor_imports_the_web_app_or_config():
    top = {"web", "config"}

    assert {app: _apps_imported_by(app) & top for app in ("paging", "oncall")} == {
        "paging": set(),
        "oncall": set(),
    }
