"""Shared plumbing of `qbjax reproduce`: the Markdown report with its tables, checks and figures.

Number formatting, the Agg pyplot, Markdown tables and the manifest come from :mod:`qbjax._runs`
(re-exported here for the reproduction modules).
"""

from __future__ import annotations

import os
from pathlib import Path

from .._figures import save_figure
from .._info import environment
from .._runs import fmt, md_table, pyplot, write_manifest

__all__ = ["SMOKE_BANNER", "Report", "fmt", "pyplot", "smoke_banner", "write_manifest"]


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
        """A GitHub-Markdown table (cells escaped; numbers through :func:`fmt`)."""
        self.lines += md_table(headers, rows)

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
        """Save ``fig`` as ``name.png`` (after the checks of :func:`qbjax._figures.save_figure`: labels
        with units on every axis, a colorbar per colour map, no overlapping panels) with its caption."""
        path = self.out_dir / f"{name}.png"
        save_figure(fig, path)
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
