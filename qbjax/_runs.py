"""Plumbing shared by every command that writes a run: output directories, manifests, Markdown
tables, number formatting, JSON of arrays, the non-interactive pyplot and integer CLI options.

The lowest layer of the workflows (it imports nothing of qbjax but the run environment), so that the
sweep, the learning pipeline, the optimisers, the reproductions and the CLI share one copy.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
from pathlib import Path

import numpy as np

from ._info import environment

__all__ = [
    "default_out",
    "finite_float",
    "fmt",
    "int_at_least",
    "jsonable",
    "md_escape",
    "md_table",
    "pyplot",
    "write_manifest",
]


def default_out(command: str) -> Path:
    """Default output directory of a subcommand: ``runs/<command>-<timestamp>``."""
    return Path("runs") / f"{command}-{time.strftime('%Y%m%d-%H%M%S')}"


def write_manifest(out_dir, command: str, parameters: dict, timings: dict, seed=None, extra=None) -> Path:
    """``out_dir/manifest.json``: command, argv, parameters, seed, timings, versions, devices,
    precision and machine."""
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


def fmt(x, digits: int = 6, *, decimals: int | None = None) -> str:
    """A number for a report: %g with ``digits`` significant digits, exponent form below 1e-3 and at
    1e5 and above (or ``decimals`` fixed decimals, for metrics); None and NaN as '-'; anything that is
    not a number as ``str``."""
    if x is None:
        return "-"
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if math.isnan(v):
        return "-"
    if decimals is not None:
        return f"{v:.{decimals}f}"
    if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e5):
        return f"{v:.{digits - 1}e}"
    return f"{v:.{digits}g}"


_UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")


def md_escape(text) -> str:
    """``text`` safe inside a GitHub-Markdown table cell: every unescaped ``|`` becomes ``\\|`` (so
    ``|x|`` renders as |x| instead of splitting the cell) and line breaks become spaces."""
    return _UNESCAPED_PIPE.sub(r"\\|", str(text)).replace("\n", " ")


def md_table(headers, rows, number=fmt) -> list[str]:
    """Lines of a GitHub-Markdown table (and a blank line after it).

    Cells that are not strings go through ``number``; every cell and header is escaped
    (:func:`md_escape`); a row of the wrong length raises ``ValueError`` (it would render as a shifted
    table).
    """
    headers = [md_escape(h) for h in headers]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    for row in rows:
        row = list(row)
        if len(row) != len(headers):
            raise ValueError(f"table row has {len(row)} cells for {len(headers)} columns: {row}")
        lines.append("| " + " | ".join(md_escape(c if isinstance(c, str) else number(c)) for c in row) + " |")
    return lines + [""]


def jsonable(obj):
    """``obj`` with NumPy/JAX arrays and scalars as lists and Python numbers; non-finite floats as None."""
    if isinstance(obj, dict):
        return {k: jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if hasattr(obj, "__array__") and not isinstance(obj, (float, int, np.generic)):
        return jsonable(np.asarray(obj).tolist())
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def pyplot():
    """matplotlib.pyplot on the non-interactive Agg backend (imported only when a figure is drawn)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def int_at_least(name: str, lowest: int):
    """argparse type: an integer >= ``lowest``, with an error naming the option."""

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be an integer; got {text!r}") from None
        if value < lowest:
            raise argparse.ArgumentTypeError(f"{name} must be >= {lowest}; got {value}")
        return value

    return parse


def finite_float(name: str, minimum: float | None = None, *, positive: bool = False):
    """argparse type: a finite number (>= ``minimum``; > 0 with ``positive``), with an error naming
    the option (NaN and inf are rejected)."""
    rule = " > 0" if positive else f" >= {minimum:g}" if minimum is not None else ""

    def parse(text):
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or (minimum is not None and value < minimum) or (positive and value <= 0):
            raise argparse.ArgumentTypeError(f"{name} must be a finite number{rule}; got {text}")
        return value

    return parse


class _Watched:
    """A text stream proxy that records when it was last written to."""

    def __init__(self, stream, clock):
        self._stream, self._clock = stream, clock

    def write(self, text):
        if text:
            self._clock[0] = time.monotonic()
        return self._stream.write(text)

    def __getattr__(self, name):
        return getattr(self._stream, name)


class heartbeat:
    """Context manager: while a long step runs, print ``[qbjax] LABEL: still running (T s)`` to stdout
    whenever nothing was written to stdout or stderr for ``every`` seconds, so that a run is never
    silent for long (and an interrupted one shows where it was)."""

    def __init__(self, label: str, every: float = 10.0):
        self.label, self.every = label, float(every)

    def __enter__(self):
        import threading

        self._clock = [time.monotonic()]
        self._t0 = self._clock[0]
        self._saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = _Watched(sys.stdout, self._clock), _Watched(sys.stderr, self._clock)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)
        self._thread.start()
        return self

    def _beat(self):
        while not self._stop.wait(1.0):
            now = time.monotonic()
            if now - self._clock[0] >= self.every:
                print(f"[qbjax] {self.label}: still running ({now - self._t0:.0f} s)", flush=True)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        sys.stdout, sys.stderr = self._saved
        return False
