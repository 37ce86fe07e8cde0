"""The package's structure: layers, import cycles, module size, duplicated code, references.

Every module's imports (at any depth, including imports inside functions) are read with ``ast``
and resolved to qbjax modules.  The layers, each importing only from itself and the ones below:

    0 core        qbjax/_*.py (numerics, validation, run plumbing)
    1 models      qbjax/models/
    2 workflows   qbjax/grid/, qbjax/sweep/, qbjax/learn/, qbjax/optimize/, qbjax/control/
    3 reproduce   qbjax/reproduce/
    4 cli         qbjax/cli.py, qbjax/__main__.py

``qbjax/__init__.py`` is the public facade: it gathers the core and the models, and no module of the
package imports it (they import the module that defines a name).
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "qbjax"
LAYERS = {"core": 0, "models": 1, "workflows": 2, "reproduce": 3, "cli": 4}
WORKFLOWS = ("grid", "sweep", "learn", "optimize", "control")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def _layer(name: str) -> int | None:
    parts = name.split(".")
    if name == "qbjax":
        return None  # the facade
    sub = parts[1]
    if sub in ("cli", "__main__"):
        return LAYERS["cli"]
    if sub == "models":
        return LAYERS["models"]
    if sub in WORKFLOWS:
        return LAYERS["workflows"]
    if sub == "reproduce":
        return LAYERS["reproduce"]
    if len(parts) == 2 and sub.startswith("_"):
        return LAYERS["core"]
    raise AssertionError(f"module {name} has no layer; add its package to the layer map")


def _resolve(importer: str, node) -> list[str]:
    """The qbjax modules an import statement reaches."""
    is_pkg = MODULES[importer].name == "__init__.py"
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] == "qbjax"]
    if node.level:
        base = importer.split(".")
        base = base if is_pkg else base[:-1]
        base = base[: len(base) - (node.level - 1)]
        mod = ".".join(base + ([node.module] if node.module else []))
    else:
        mod = node.module or ""
    if mod.split(".")[0] != "qbjax":
        return []
    out = []
    for alias in node.names:
        sub = f"{mod}.{alias.name}"
        out.append(sub if sub in MODULES else mod)
    return out


def _graph() -> dict[str, set[str]]:
    graph = defaultdict(set)
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for target in _resolve(name, node):
                    if target != name:
                        graph[name].add(target)
    return graph


GRAPH = _graph()


def test_every_module_has_a_layer():
    for name in MODULES:
        _layer(name)


def test_no_module_imports_the_facade():
    offenders = [f"{a} imports the facade qbjax" for a, targets in GRAPH.items() if a != "qbjax" and "qbjax" in targets]
    assert not offenders, "\n".join(offenders)


def test_no_import_from_a_higher_layer():
    offenders = []
    for a, targets in GRAPH.items():
        la = _layer(a)
        for b in targets:
            lb = _layer(b)
            if la is None or lb is None:
                continue
            if lb > la:
                offenders.append(f"{a} (layer {la}) imports {b} (layer {lb})")
    assert not offenders, "\n".join(offenders)


def test_facade_imports_only_core_and_models():
    assert all(_layer(b) <= LAYERS["models"] for b in GRAPH["qbjax"] if b != "qbjax")


def test_no_import_cycle():
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(GRAPH.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(MODULES):
        if node not in state:
            visit(node)
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_at_most_500_lines(name):
    n = len(MODULES[name].read_text().splitlines())
    assert n <= 500, f"{MODULES[name].relative_to(ROOT)} has {n} lines"


def test_no_reference_to_the_spec_file():
    """Docstrings, tests, benchmarks and reports cite the papers' equations, not a planning document."""
    files = list(MODULES.values()) + sorted((ROOT / "tests").rglob("*.py")) + sorted((ROOT / "benchmarks").glob("*"))
    files += sorted((ROOT / "notebooks").rglob("*.md")) + sorted((ROOT / "docs").rglob("*.md")) + [ROOT / "README.md"]
    hits = [f"{p.relative_to(ROOT)}:{i}" for p in files if p.is_file()
            for i, line in enumerate(p.read_text().splitlines(), 1) if re.search(r"\bSPEC\b", line)]
    assert not hits, hits


def _code_lines(path: Path):
    """(line number, normalised text) of the lines that carry code: no blanks, comments, docstring
    lines or imports; white space folded."""
    out = []
    in_doc = False
    for i, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        quotes = line.count('"""')
        if in_doc:
            if quotes % 2:
                in_doc = False
            continue
        if line.startswith('"""') or line.startswith('r"""'):
            if quotes % 2:
                in_doc = True
            continue
        if not line or line.startswith("#") or line.startswith(("import ", "from ")) or line in (")", "]", "}", "):"):
            continue
        out.append((i, " ".join(line.split())))
    return out


def test_no_six_identical_lines_twice():
    """No run of six identical code lines stands twice in qbjax/ (write it once and call it)."""
    seen: dict[tuple, str] = {}
    dups = []
    for name, path in MODULES.items():
        lines = _code_lines(path)
        for k in range(len(lines) - 5):
            key = tuple(t for _, t in lines[k:k + 6])
            where = f"{path.relative_to(ROOT)}:{lines[k][0]}"
            if key in seen and seen[key].split(":")[0] != where.split(":")[0] or (
                    key in seen and int(seen[key].split(":")[1]) + 6 <= lines[k][0]):
                dups.append(f"{where} repeats {seen[key]}")
            seen.setdefault(key, where)
    assert not dups, "\n".join(dups[:20])


def test_no_module_global_is_traced_when_first_imported_inside_jit():
    """The facade loads modules on first use of a name, which can be inside a ``jax.jit`` trace (for
    example ``jax.jit(lambda r: qb.concurrence(r))`` as a program's first call).  A module-level
    constant built with ``jax.numpy`` would then be a tracer and leak into every later call.  In a
    fresh interpreter every qbjax module is imported inside one trace and no module global may be a
    tracer afterwards."""
    import subprocess
    import sys

    code = (
        "import importlib, sys, jax, jax.numpy as jnp\n"
        f"names = {sorted(n for n in MODULES if n not in ('qbjax.__main__',))!r}\n"
        "def body(x):\n"
        "    for n in names:\n"
        "        importlib.import_module(n)\n"
        "    return x\n"
        "jax.jit(body)(jnp.ones(2))\n"
        "bad = [f'{m}.{k}' for m in names for k, v in vars(sys.modules[m]).items()"
        " if isinstance(v, jax.core.Tracer)]\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert out.returncode == 0, f"module globals created as tracers: {out.stdout.strip()} {out.stderr[-2000:]}"
