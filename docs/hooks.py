"""mkdocs hooks: pages generated from the code, so that the site cannot drift from it.

* ``api.md``: one entry per public name of ``qbjax`` (``qbjax.__all__``), grouped as in the README;
  a public function or class without a docstring, or a function whose docstring has no equation or
  description beyond one line, fails the build.
* ``cli.md``: the ``--help`` of ``qbjax`` and of every subcommand (argparse, in process).
* ``performance.md``: ``benchmarks/RESULTS.md``.
* ``notebooks/*.ipynb``: the repository's notebooks, copied to ``docs/notebooks/`` (rendered by
  mkdocs-jupyter, not executed), and
  ``notebooks/index.md`` listing them.
* every public method and property of the classes of ``qbjax.models`` must have a docstring of more
  than one line, with an ``Args:`` section where it takes arguments.
"""

from __future__ import annotations

import argparse
import inspect
import json
import re
import shutil
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parent.parent

GROUPS = {
    "Battery functionals": ["energy", "passive_energy", "active_energy", "ergotropy", "antiergotropy", "capacity"],
    "States and operators": ["purity", "trace_distance", "concurrence", "partial_trace", "basis", "ket2dm", "tensor",
                             "destroy", "dicke_operators", "wigner"],
    "Superoperators (row-major vec)": ["liouvillian", "spre", "spost", "sprepost", "dissipator",
                                       "commutator_superop", "vec", "unvec", "trace_vector"],
    "Steady states, evolution, counting statistics": ["steady_state", "evolve", "sesolve", "propagate", "cumulants",
                                                       "joint_cumulants"],
    "QuTiP interop": ["from_qutip", "to_qutip"],
    "Thermal": ["bose_einstein"],
    "Charging protocols": ["optimize_protocol"],
    "Sweeps": ["read_dataset"],
    "Settings": ["set_precision", "get_precision", "set_validation", "validation_enabled", "enable_compilation_cache"],
}
MODULES = {"models", "control", "grid", "sweep"}  # documented on their own pages
OWN_PAGE = {"AbstractBattery", "AbstractLindbladBattery"}  # models/protocol.md


def _public_api():
    import qbjax

    names = [n for n in qbjax.__all__ if n != "__version__" and n not in MODULES]
    grouped = {n for g in GROUPS.values() for n in g} | OWN_PAGE
    extra = sorted(set(names) - grouped)
    return qbjax, names, extra


def _check_docstring(qualname, obj, errors):
    doc = inspect.getdoc(obj)
    if not doc:
        errors.append(f"{qualname} has no docstring")
    elif inspect.isfunction(obj) and len(doc.strip().splitlines()) < 2:
        errors.append(f"{qualname}: a one-line docstring (give the equation, shapes, units and errors)")


def _api_page():
    qbjax, names, extra = _public_api()
    errors = []
    lines = ["# Core API", "",
             "Everything below is imported from `qbjax` (`import qbjax as qb`). Every function takes leading",
             "batch dimensions and is safe under `jax.jit`, `jax.vmap` and `jax.grad`; bad input raises a",
             "`ValueError` that names the argument (`eqx.error_if` when traced).", ""]
    for title, group in list(GROUPS.items()) + ([("Other", extra)] if extra else []):
        lines += [f"## {title}", ""]
        for n in group:
            if n not in names:
                errors.append(f"qbjax.{n} is listed in docs/hooks.py but is not public")
                continue
            obj = getattr(qbjax, n)
            _check_docstring(f"qbjax.{n}", obj, errors)
            module = getattr(obj, "__module__", "qbjax")
            lines += [f"::: {module}.{getattr(obj, '__name__', n)}", ""]
    return lines, errors


def _model_member_errors(qualname, member, errors):
    """The rules for one public model method or property: a docstring of more than one line, and an
    ``Args:`` section where the method takes arguments besides ``self``."""
    func = member.fget if isinstance(member, property) else member
    doc = inspect.getdoc(func)
    if not doc:
        errors.append(f"{qualname} has no docstring")
        return
    if len(doc.strip().splitlines()) < 2:
        errors.append(f"{qualname}: a one-line docstring (give the equation, shapes, units and errors)")
    if isinstance(member, property):
        return
    try:
        params = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):
        errors.append(f"{qualname}: no signature to check")
        return
    if any(p.name != "self" for p in params) and not re.search(r"^Args:$", doc, re.M):
        errors.append(f"{qualname} takes arguments but its docstring has no 'Args:' section")


def _model_errors():
    """Every public method and property defined by a class of ``qbjax.models.__all__`` (its own
    members; inherited ones are checked on the class that defines them) follows the rules of
    :func:`_model_member_errors`, without exceptions."""
    import qbjax as qb

    errors = []
    for name in qb.models.__all__:
        cls = getattr(qb.models, name)
        if not inspect.isclass(cls):
            continue
        for attr, member in vars(cls).items():
            if attr.startswith("_") or isinstance(member, type):
                continue
            if not (callable(member) or isinstance(member, property)):
                continue
            qualname = f"qbjax.models.{name}.{attr}"
            target = member if isinstance(member, property) else getattr(cls, attr)
            _model_member_errors(qualname, target, errors)
    return errors


def _cli_page():
    from qbjax.cli import build_parser

    parser = build_parser()
    lines = ["# Command line", "", "The `qbjax` command (installed with the package). Generated from its `--help`.", "",
             "```text", parser.format_help().rstrip(), "```", ""]
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, p in sub.choices.items():
        lines += [f"## qbjax {name}", "", "```text", p.format_help().rstrip(), "```", ""]
        inner = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
        for a in inner:
            for n2, p2 in a.choices.items():
                lines += [f"### qbjax {name} {n2}", "", "```text", p2.format_help().rstrip(), "```", ""]
    return lines


def _readme_sections(*titles):
    """The README's ``## `` sections with these titles (heading line included), in the order given;
    image links dropped (they point outside the site)."""
    text = (ROOT / "README.md").read_text()
    out = []
    for title in titles:
        start = text.find(f"\n## {title}\n")
        if start < 0:
            raise PluginError(f"README.md has no section '## {title}' (docs/hooks.py)")
        end = text.find("\n## ", start + 1)
        body = text[start + 1:end if end > 0 else None]
        out += [line for line in body.splitlines() if not line.lstrip().startswith("![")] + [""]
    return out


def _readme_top():
    text = (ROOT / "README.md").read_text()
    return text[:text.find("\n## ")].splitlines()


def on_pre_build(config):
    """Copy the notebooks into ``docs/notebooks/`` (git-ignored) before mkdocs collects the files, so
    that mkdocs-jupyter renders them as pages."""
    dest = Path(config["docs_dir"]) / "notebooks"
    dest.mkdir(exist_ok=True)
    for old in dest.glob("*.ipynb"):
        old.unlink()
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        shutil.copyfile(nb, dest / nb.name)


def on_files(files, config):
    api, errors = _api_page()
    errors += _model_errors()
    if errors:
        raise PluginError("documentation check failed:\n  " + "\n  ".join(errors))
    files.append(File.generated(config, "api.md", content="\n".join(api)))
    index = _readme_top() + [""] + _readme_sections("What qbjax is", "Differentiable ergotropy in ten lines",
                                                    "A first look at a model and the core")
    files.append(File.generated(config, "index.md", content="\n".join(index)))
    sweeps = ["# Sweeps at scale", "", "(From the README.)", ""]
    for line in _readme_sections("Command line"):
        sweeps.append(line)
    files.append(File.generated(config, "sweeps.md", content="\n".join(sweeps)))
    protocol = ["# Your own battery", ""] + _readme_sections("One vocabulary for every battery") + [
        "## The protocol classes", "", "::: qbjax.models._protocol.AbstractBattery", "",
        "::: qbjax.models._protocol.AbstractLindbladBattery", ""]
    files.append(File.generated(config, "models/protocol.md", content="\n".join(protocol)))
    files.append(File.generated(config, "cli.md", content="\n".join(_cli_page())))
    results = (ROOT / "benchmarks" / "RESULTS.md").read_text()
    files.append(File.generated(config, "performance.md", content=results))
    index = ["# Notebooks", "", "The notebooks of the repository, rendered without re-running them (the test suite runs",
             "them top to bottom). Run them yourself with `jupyter lab notebooks/`.", ""]
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(nb.read_text())["cells"]
        title = next((c["source"][0] if isinstance(c["source"], list) else c["source"].splitlines()[0]
                      for c in cells if c["cell_type"] == "markdown" and c["source"]), nb.stem)
        index.append(f"- [{title.lstrip('# ').strip()}]({nb.name})")
    files.append(File.generated(config, "notebooks/index.md", content="\n".join(index) + "\n"))
    return files
