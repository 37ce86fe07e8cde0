"""Shared plumbing of `qbjax reproduce`: markdown report, figures, manifest."""

from __future__ import annotations

import json
import math
import os
import sys
import time
from pathlib import Path

from .._info import environment


def fmt(x, digits: int = 6) -> str:
    """A number for a report table (None and NaN shown as '-')."""
    if x is None:
        return "-"
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if math.isnan(v):
        return "-"
    if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e5):
        return f"{v:.{digits - 1}e}"
    return f"{v:.{digits}g}"


def pyplot():
    """matplotlib.pyplot on the non-interactive Agg backend (imported only when a report is drawn)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


SMOKE_BANNER = (
    "**SMOKE RUN (`--smoke`).** The smallest grids, stream lengths and epochs that exercise every code "
    "path and draw every figure and table of this report. Its numbers are rough and NOT for comparison "
    "with the paper or with `--quick` / full runs (agreement checks may read DIFFERS for that reason)."
)


def smoke_banner(report_path) -> Path:
    """Insert :data:`SMOKE_BANNER` under the title (first line) of an already written report."""
    path = Path(report_path)
    lines = path.read_text().split("\n")
    path.write_text("\n".join(lines[:1] + ["", SMOKE_BANNER] + lines[1:]))
    return path


class Report:
    """A markdown report with tables and PNG figures written under ``out_dir``
    (``smoke``: a :data:`SMOKE_BANNER` right under the title)."""

    def __init__(self, title: str, out_dir: str | os.PathLike, smoke: bool = False):
        self.title = title
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.lines: list[str] = [f"# {title}", ""]
        if smoke:
            self.lines += [SMOKE_BANNER, ""]
        self.figures: list[str] = []
        self.checks: list[dict] = []

    def text(self, *paragraphs: str) -> None:
        for p in paragraphs:
            self.lines += [p, ""]

    def section(self, heading: str) -> None:
        self.lines += [f"## {heading}", ""]

    def table(self, headers, rows) -> None:
        self.lines.append("| " + " | ".join(headers) + " |")
        self.lines.append("|" + "|".join("---" for _ in headers) + "|")
        for row in rows:
            self.lines.append("| " + " | ".join(c if isinstance(c, str) else fmt(c) for c in row) + " |")
        self.lines.append("")

    def check(self, name: str, paper, qbjax, tol: float | None = None, note: str = "") -> bool | None:
        """Record a paper-vs-qbjax comparison (shown by :meth:`checks_table`)."""
        ok = None
        if tol is not None and paper is not None:
            ok = abs(float(paper) - float(qbjax)) <= tol
        self.checks.append({"name": name, "paper": paper, "qbjax": qbjax, "tol": tol, "ok": ok, "note": note})
        return ok

    def checks_table(self) -> None:
        rows = []
        for c in self.checks:
            diff = None if c["paper"] is None else abs(float(c["paper"]) - float(c["qbjax"]))
            status = {True: "agrees", False: "DIFFERS", None: "-"}[c["ok"]]
            rows.append([c["name"], fmt(c["paper"], 10), fmt(c["qbjax"], 10), fmt(diff, 3),
                         fmt(c["tol"], 2), status, c["note"]])
        self.table(["quantity", "paper", "qbjax", "|difference|", "tolerance", "status", "note"], rows)

    def figure(self, fig, name: str, caption: str) -> None:
        path = self.out_dir / f"{name}.png"
        fig.tight_layout()
        fig.savefig(path, dpi=110, bbox_inches="tight")
        pyplot().close(fig)
        self.figures.append(path.name)
        self.lines += [f"![{caption}]({path.name})", "", f"*{caption}*", ""]

    def write(self) -> Path:
        env = environment()
        self.lines += [
            "## Environment",
            "",
            (f"precision: {env['precision']}; backend: {env['backend']}; devices: {', '.join(env['devices'])}; "
             f"jax {env['versions']['jax']}, qbjax {env['versions']['qbjax']}; machine: {env['machine']}"),
            "",
        ]
        path = self.out_dir / "report.md"
        path.write_text("\n".join(self.lines))
        return path


def write_manifest(out_dir, command: str, parameters: dict, timings: dict, seed=None, extra=None) -> Path:
    """manifest.json: command, parameters, versions, devices, precision, seed, timings."""
    data = {
        "command": command,
        "argv": sys.argv,
        "parameters": parameters,
        "seed": seed,
        "timings_s": timings,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **environment(),
    }
    if extra:
        data.update(extra)
    path = Path(out_dir) / "manifest.json"
    path.write_text(json.dumps(data, indent=2, default=str))
    return path
