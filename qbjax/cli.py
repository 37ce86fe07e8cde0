"""The `qbjax` command line."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ._runs import default_out, write_manifest


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
    timings = {}
    reports = {}
    for model in models:
        target = out / model if args.model == "all" else out
        print(f"[qbjax] reproducing {model} -> {target}", flush=True)
        t0 = time.perf_counter()
        reports[model] = reproduce.run(model, target, quick=args.quick, smoke=args.smoke)
        timings[model] = round(time.perf_counter() - t0, 3)
        write_manifest(target, f"reproduce {model}", {"model": model, "quick": args.quick, "smoke": args.smoke},
                       {model: timings[model]})
        print(f"[qbjax] {model}: {timings[model]:.1f} s, report {reports[model]}", flush=True)
    if args.model == "all":
        lines = ["# qbjax reproductions", ""]
        if args.smoke:
            lines += [("**SMOKE RUN (`--smoke`)**: smallest sizes, every code path; the numbers in these reports "
                       "are not for comparison."), ""]
        lines += [f"- [{m}]({m}/report.md) ({timings[m]:.1f} s)" for m in models]
        (out / "report.md").write_text("\n".join(lines) + "\n")
        write_manifest(out, "reproduce all", {"model": "all", "quick": args.quick, "smoke": args.smoke}, timings)
    return 0


def build_parser() -> argparse.ArgumentParser:
    from . import reproduce

    parser = argparse.ArgumentParser(prog="qbjax", description="Quantum batteries in JAX.")
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
    p.set_defaults(func=_cmd_reproduce)
    from .learn.cli import register as register_learn
    from .optimize.cli import register as register_optimize
    from .sweep.cli import register as register_sweep

    register_optimize(sub)
    register_learn(sub)
    register_sweep(sub)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("\n[qbjax] interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
