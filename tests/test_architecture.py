"""The shape of the code, checked: layers named only downwards (by import or by string), no import
loop between files, and no module of several jobs.

``lint-imports`` (run by ``make test``, contracts in pyproject.toml) checks the layers through
imports; what it cannot see is a lower layer naming a higher one in a string (a permission, a URL
name, a model label, a dotted task path, ``apps.get_model``), which these tests do.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("config", "sync", "integration", "lists")  # top to bottom
PACKAGES = (*PRODUCT, "sandbox")
MAX_LINES = 500


def python_files(*tops: str) -> Iterator[Path]:
    for top in tops:
        for path in sorted((ROOT / top).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def docstring_nodes(tree: ast.AST) -> set[int]:
    """The ids of the string constants that are docstrings (they may describe other layers)."""
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def names_of_higher_layers(path: Path, higher: tuple[str, ...]) -> list[str]:
    """Strings in ``path`` (docstrings aside) that name a higher layer: ``"sync.view_syncrun"``,
    ``"sync:health"``, ``"integration.SyncSettings"``, ``"sync.tasks.push_task"``, and
    ``get_model("sync", ...)``."""
    tree = ast.parse(path.read_text())
    skip = docstring_nodes(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            if any(node.value.startswith((f"{app}.", f"{app}:")) for app in higher):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "get_model":
            label = node.args[0] if node.args else None
            if isinstance(label, ast.Constant) and str(label.value).split(".")[0] in higher:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: get_model({label.value!r}, ...)")
    return found


@pytest.mark.parametrize("layer", ["lists", "integration"])
def test_a_lower_layer_never_names_a_higher_one_in_a_string(layer):
    higher = PRODUCT[1 : PRODUCT.index(layer)]
    found = [hit for path in python_files(layer) for hit in names_of_higher_layers(path, higher)]
    assert not found, "\n".join(found)


def test_the_check_sees_a_higher_layer_named_in_a_string(tmp_path, monkeypatch):
    sample = tmp_path / "sample.py"
    sample.write_text(
        '"""Docstrings may say sync.models."""\n'
        'PERMISSION = "sync.trigger_sync"\n'
        'URL = "sync:health"\n'
        'Model = apps.get_model("integration", "SyncSettings")\n'
        'Own = apps.get_model("lists", "Contact")\n'
    )
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    found = names_of_higher_layers(sample, ("sync", "integration"))
    assert [hit.split(": ", 1)[1] for hit in found] == [
        "'sync.trigger_sync'",
        "'sync:health'",
        "get_model('integration', ...)",
    ]


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    cycles: list[list[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        cycles.append(sorted(component))
    return cycles


def test_no_import_loop_between_files():
    # Every import counts, function-level ones too; imports under TYPE_CHECKING do not.
    graph = grimp.build_graph(*PACKAGES, exclude_type_checking_imports=True, cache_dir=None)
    cycles = import_cycles(graph)
    assert not cycles, "\n".join(" <-> ".join(cycle) for cycle in cycles)


def test_the_loop_check_finds_a_loop():
    graph = grimp.ImportGraph()
    for module in ("a", "b", "c", "d"):
        graph.add_module(module)
    graph.add_import(importer="a", imported="b")
    graph.add_import(importer="b", imported="c")
    graph.add_import(importer="c", imported="a")
    graph.add_import(importer="c", imported="d")
    assert import_cycles(graph) == [["a", "b", "c"]]


def test_no_module_holds_several_jobs():
    """No Python module over 500 lines (migrations aside): a module that grows past it becomes a
    package of modules with one job each."""
    long = [
        f"{path.relative_to(ROOT)}: {lines} lines"
        for path in python_files(*PACKAGES, "tests", "bench")
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
    ]
    assert not long, "\n".join(long)


DOCS = ("README.md", "docs/architecture.md", "docs/guarantees.md")
CITED_PATH = re.compile(r"`((?:[a-z_]+/)+[a-z_]+\.py)(?:::(\w+)(?:::(\w+))?)?")


def test_the_docs_cite_files_and_tests_that_exist():
    """Every ``path/to/module.py`` and ``tests/…py::test_name`` the docs cite is there: the docs
    move with the code."""
    missing = []
    for doc in DOCS:
        for match in CITED_PATH.finditer((ROOT / doc).read_text()):
            path, name, inner = match.groups()
            if not (ROOT / path).is_file():
                missing.append(f"{doc}: {path}")
            elif name and not re.search(rf"^\s*(?:async )?(?:def|class) {name}\b", (ROOT / path).read_text(), re.M):
                missing.append(f"{doc}: {path}::{name}")
            elif inner and not re.search(rf"^\s+def {inner}\b", (ROOT / path).read_text(), re.M):
                missing.append(f"{doc}: {path}::{name}::{inner}")
    assert not missing, "\n".join(missing)
