"""The layer rules of `benchmark/` (docs/design.md), read from every module's import statements,
imports inside functions included: no circle, and no arrow that climbs."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("benchmark", "baselines", "methods")

# layer -> the layers its modules may import (their own included)
BELOW = {
    "core": {"core"},
    "data": {"core", "data"},
    "protocol": {"core", "data", "protocol"},
    "metrics": {"core", "data", "protocol", "metrics"},
    "execution": {"core", "data", "protocol", "metrics", "execution"},
    "analysis": {"core", "data", "metrics", "analysis"},
    "reporting": {"core", "data", "protocol", "metrics", "analysis", "reporting"},
    "study": {"core", "data", "protocol", "metrics", "analysis", "reporting", "study"},
    "cli": {"core", "data", "protocol", "metrics", "execution", "analysis", "reporting", "study",
            "cli", "plugins"},
    # method adapters: the metrics' public loaders and below, never execution or reports
    "plugins": {"core", "data", "protocol", "metrics", "plugins"},
}


def layer_of(module: str) -> str:
    """The layer of a project module (`benchmark` itself holds only the version: core)."""
    parts = module.split(".")
    if parts[0] in ("baselines", "methods"):
        return "plugins"
    if module == "benchmark":
        return "core"
    if module == "benchmark.__main__":
        return "cli"
    return parts[1]


def module_sources(root: Path = REPO) -> dict[str, Path]:
    """Every module of the project's packages, by dotted name."""
    found = {}
    for package in PACKAGES:
        for path in (root / package).rglob("*.py"):
            name = ".".join(path.relative_to(root).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def imported_modules(source: str, known: set[str]) -> set[str]:
    """Project modules a source imports anywhere in it (the longest known prefix of each)."""
    targets = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name:
                targets.add(name)
    return targets


def graph(sources: dict[str, str]) -> dict[str, set[str]]:
    """module -> project modules it imports (itself left out)."""
    known = set(sources)
    return {m: imported_modules(src, known) - {m} for m, src in sources.items()}


def violations(edges: dict[str, set[str]]) -> list[str]:
    """Every import against the layer rules, as 'importer -> imported (layer -> layer)'."""
    bad = []
    for module, targets in sorted(edges.items()):
        allowed = BELOW[layer_of(module)]
        bad += [f"{module} -> {t} ({layer_of(module)} -> {layer_of(t)})"
                for t in sorted(targets) if layer_of(t) not in allowed]
    return bad


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The import circles: strongly connected components of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in edges:
        if v not in index:
            visit(v)
    return found


def project_graph() -> dict[str, set[str]]:
    return graph({m: p.read_text(encoding="utf-8") for m, p in module_sources().items()})


def test_no_import_breaks_a_layer_rule():
    assert violations(project_graph()) == []


def test_no_import_circle():
    assert cycles(project_graph()) == []


def test_every_subpackage_says_what_it_may_import():
    for init in sorted((REPO / "benchmark").glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        assert "May import" in doc, f"{init.relative_to(REPO)} does not say what it may import"


def test_an_added_climbing_import_fails_the_check():
    """The check is not vacuous: one import that climbs, even inside a function, is caught."""
    sources = {m: p.read_text(encoding="utf-8") for m, p in module_sources().items()}
    sources["benchmark.execution.runner"] += (
        "\n\ndef _sneak():\n    from benchmark.reporting.report import write_report\n")
    sources["benchmark.metrics.semantic"] += "\nimport methods.causal_diffusion.sender\n"
    found = violations(graph(sources))
    assert found == [
        "benchmark.execution.runner -> benchmark.reporting.report (execution -> reporting)",
        "benchmark.metrics.semantic -> methods.causal_diffusion.sender (metrics -> plugins)"]


def test_an_added_circle_fails_the_check():
    sources = {m: p.read_text(encoding="utf-8") for m, p in module_sources().items()}
    sources["benchmark.core.errors"] += "\n\ndef _back():\n    import benchmark.core.paths\n"
    sources["benchmark.core.paths"] += "\nfrom benchmark.core.errors import UlvrError\n"
    assert ["benchmark.core.errors", "benchmark.core.paths"] in cycles(graph(sources))


def test_no_module_of_the_harness_is_over_400_lines():
    long = {str(p.relative_to(REPO)): n for p in (REPO / "benchmark").rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 420}
    assert long == {}
