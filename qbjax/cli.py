"""The `qbjax` command line."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

from ._cache import enable_compilation_cache
from ._runs import default_out, int_at_least, write_manifest


def _cmd_info(args) -> int:
    from ._info import environment

    env = environment()
    if args.json:
        print(json.dumps(env, indent=2))
        return 0
    print(f"qbjax {env['versions']['qbjax']}  (python {env['versions']['python']})")
    print(f"precision: {env['precision']}   backend: {env['backend']}")
    print("devices:   " + ", ".join(env["devices"]))
    print("versions:  " + ", ".join(f"{k} {v}" for k, v in env["versions"].items() if v and k != "qbjax"))
    print(f"machine:   {env['machine']}  ({env['platform']})")
    return 0


def _cmd_reproduce(args) -> int:
    from . import reproduce

    out = Path(args.out) if args.out else default_out(f"reproduce-{args.model}")
    models = sorted(reproduce.MODELS) if args.model == "all" else [args.model]
    jobs = args.jobs if args.jobs is not None else min(2, os.cpu_count() or 1)

    def done(model, seconds, report):
        target = out / model if args.model == "all" else out
        write_manifest(target, f"reproduce {model}", {"model": model, "quick": args.quick, "smoke": args.smoke},
                       {model: seconds})
        print(f"[qbjax] {model}: {seconds:.1f} s, report {report}", flush=True)

    if args.model == "all":
        timings = reproduce.run_all(models, out, quick=args.quick, smoke=args.smoke, jobs=jobs, on_done=done)
        timings = {m: timings[m] for m in models}
    else:
        model, seconds, report = reproduce._run_timed(args.model, str(out), args.quick, args.smoke, None)
        timings = {model: seconds}
        done(model, seconds, report)
    if args.model == "all":
        lines = ["# qbjax reproductions", ""]
        if args.smoke:
            lines += [("**SMOKE RUN (`--smoke`)**: smallest sizes, every code path; the numbers in these reports "
                       "are not for comparison."), ""]
        lines += [f"- [{m}]({m}/report.md) ({timings[m]:.1f} s)" for m in models]
        (out / "report.md").write_text("\n".join(lines) + "\n")
        write_manifest(out, "reproduce all", {"model": "all", "quick": args.quick, "smoke": args.smoke}, timings)
    return 0


EPILOG = """\
Bad input (an option value out of range, NaN or inf; a missing, empty, unfiltered or one-class
dataset) is rejected before any work, and a result the input makes invalid (a micromaser Fock
truncation that leaks) is refused: one line on stderr, 'qbjax COMMAND: error: MESSAGE', exit
status 2, and a run directory the command created and left empty is removed.
--debug (before COMMAND) or the environment variable QBJAX_DEBUG=1 re-raises such an error with its
traceback.
Compiled programs are kept in JAX's persistent compilation cache, per user: $QBJAX_CACHE_DIR, else
$XDG_CACHE_HOME/qbjax/jax (default ~/.cache/qbjax/jax); QBJAX_CACHE=0 switches it off.
"""


class ArgumentParser(argparse.ArgumentParser):
    """argparse with one-line errors: ``PROG: error: MESSAGE`` on stderr, exit status 2 (no usage
    block; ``PROG --help`` has it).  Subcommand parsers inherit the class."""

    def error(self, message):
        prefix, sep, rest = message.partition(": ")
        if sep and prefix.startswith("argument ") and rest.startswith(prefix[len("argument "):].split("/")[0]):
            message = rest  # "argument --x: --x must be ..." -> "--x must be ..."
        self.exit(2, f"{self.prog}: error: {_one_line(message)}\n")


def _one_line(message) -> str:
    return " ".join(str(message).split())


def build_parser() -> argparse.ArgumentParser:
    from . import reproduce

    parser = ArgumentParser(prog="qbjax", description="Quantum batteries in JAX.", epilog=EPILOG,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--debug", action="store_true",
                        help="show the traceback of an input error instead of one line (also QBJAX_DEBUG=1)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("info", help="devices, precision, versions")
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(func=_cmd_info)

    p = sub.add_parser("reproduce", help="recompute a paper's figures and tables")
    p.add_argument("model", choices=sorted(reproduce.MODELS) + ["all"])
    p.add_argument("--out", help="output directory (default runs/reproduce-MODEL-<timestamp>)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="reduced grids (documented per model)")
    mode.add_argument("--smoke", action="store_true",
                      help="smallest sizes that run every code path and write every figure (CI; "
                           "numbers not for comparison)")
    p.add_argument("--jobs", type=int_at_least("--jobs", 1), default=None,
                   help="models reproduced at once by 'all', each in its own process (default: min(2, CPUs))")
    p.set_defaults(func=_cmd_reproduce)
    from .learn.cli import register as register_learn
    from .optimize.cli import register as register_optimize
    from .sweep.cli import register as register_sweep

    register_optimize(sub)
    register_learn(sub)
    register_sweep(sub)
    return parser


def _created_dirs(args):
    """A function listing the directories the command created (deepest first): those on the way to
    ``args.out`` that do not exist yet, or the new entries of ``runs/`` when there is no ``--out``."""
    out = getattr(args, "out", None)
    if out:
        absent = [p for p in (Path(out), *Path(out).parents) if not p.exists()]
        return lambda: absent
    runs = Path("runs")
    before = set(runs.iterdir()) if runs.is_dir() else None

    def created():
        now = set(runs.iterdir()) if runs.is_dir() else set()
        return sorted(now - (before or set()), reverse=True) + ([runs] if before is None else [])

    return created


def _remove_empty(dirs) -> None:
    """Remove each directory that holds no file (at any depth)."""
    for d in dirs:
        if d.is_dir() and not d.is_symlink() and not any(not p.is_dir() for p in d.rglob("*")):
            shutil.rmtree(d, ignore_errors=True)


def main(argv=None) -> int:
    """Run ``qbjax ARGS``; returns the exit status (argparse errors raise ``SystemExit(2)``).

    A ``ValueError`` or ``OSError`` raised by a command (bad input) is printed as one line,
    ``qbjax COMMAND: error: MESSAGE``, and gives status 2; any other exception (a bug) propagates.
    Either way a run directory the command created and left empty is removed.
    """
    args = build_parser().parse_args(argv)
    debug = args.debug or os.environ.get("QBJAX_DEBUG", "") not in ("", "0")
    name = " ".join(["qbjax"] + [v for v in (args.command, getattr(args, "target", None)) if v])
    created = _created_dirs(args)
    status = 1
    if args.command != "info":
        enable_compilation_cache()
    try:
        status = args.func(args)
        return status
    except KeyboardInterrupt:
        print("\n[qbjax] interrupted", file=sys.stderr)
        status = 130
        return status
    except (ValueError, OSError) as err:
        if debug:
            raise
        print(f"{name}: error: {_one_line(err)}", file=sys.stderr)
        status = 2
        return status
    finally:
        if status:
            _remove_empty(created())


if __name__ == "__main__":
    sys.exit(main())
