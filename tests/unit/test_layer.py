"""The Lambda layer holds exactly what the handlers import: shared/Makefile removes the
development tools, and nothing the handlers reach is among them."""

from __future__ import annotations

import re
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]


def _dev_only() -> list[str]:
    text = (ROOT / "shared" / "Makefile").read_text().replace("\\\n", " ")
    (listed,) = re.findall(r"^DEV_ONLY = (.+)$", text, flags=re.MULTILINE)
    return [path.removesuffix(".py").replace("/", ".") for path in listed.split()]


def _reached_by_the_handlers(graph: grimp.ImportGraph) -> set[str]:
    starts = {"acktrack.handlers"}
    for app in (ROOT / "functions").glob("*/app.py"):
        starts |= set(re.findall(r"^from (acktrack[\w.]*) import", app.read_text(), re.MULTILINE))
    reached: set[str] = set()
    todo = list(starts)
    while todo:
        module = todo.pop()
        if module in reached:
            continue
        reached.add(module)
        parts = module.split(".")
        todo += [".".join(parts[:size]) for size in range(1, len(parts))]
        todo += [
            m for m in graph.find_modules_directly_imported_by(module) if m.startswith("acktrack")
        ]
    return reached


def test_the_layer_holds_what_the_handlers_import_and_nothing_else() -> None:
    graph = grimp.build_graph("acktrack", exclude_type_checking_imports=True, cache_dir=None)
    reached = _reached_by_the_handlers(graph)
    removed = {
        m for m in graph.modules if any(m == d or m.startswith(d + ".") for d in _dev_only())
    }
    assert not reached & removed, sorted(reached & removed)  # the layer would break Lambda
    assert set(graph.modules) - removed == reached, sorted(set(graph.modules) - removed - reached)


def test_use_cases_matching_and_the_report_name_no_store_module_not_even_for_types() -> None:
    """import-linter leaves type-only imports out; these packages take ports and read what the
    store hands back through domain.stored's Protocols, so they need none."""
    graph = grimp.build_graph("acktrack", exclude_type_checking_imports=False, cache_dir=None)
    found = {
        (module, imported)
        for package in ("acktrack.ingest", "acktrack.correlate", "acktrack.report")
        for module in graph.find_descendants(package)
        for imported in graph.find_modules_directly_imported_by(module)
        if imported.startswith("acktrack.store")
    }
    assert found == set()
