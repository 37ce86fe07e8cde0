"""``qbjax optimize TARGET``: one subcommand per target, each with its own options.

* ``qbjax optimize micromaser``: the charging protocol of paper 002 (Eq. 11), multistart L-BFGS;
  writes ``result.json`` (``c``, ``q`` per batch, ``loss``, ``W_final``, ``purity_final``,
  ``top_level_population``, ``wall_s``, ``n_steps``), ``protocol.png`` and ``manifest.json``.
* ``qbjax optimize four-level``: inverse design of the four-level battery over the Table-I box,
  compared with the seeded grid; writes ``result.json``, ``convergence.png``, ``box.png``,
  ``summary.md`` and ``manifest.json``.
* ``qbjax optimize charger`` / ``qbjax optimize tavis-cummings``: a time-dependent control (the
  coupling J(t), the cavity detuning Delta(t)) against the best static parameter
  (:mod:`qbjax.optimize.protocol_cli`); writes ``result.json``, ``protocol.png``, ``report.md`` and
  ``manifest.json``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from .._runs import default_out, finite_float, int_at_least, write_manifest

__all__ = ["register"]

MICROMASER_DEFAULTS = {"starts": 3, "steps": 60}
FOUR_LEVEL_DEFAULTS = {"starts": 64, "steps": 400}


def _params(args) -> dict:
    return {k: v for k, v in vars(args).items() if k != "func"}


def _check_micromaser(args):
    """The option combinations argparse cannot check one by one; the model (validates g, levels)."""
    from ..models.micromaser import Micromaser

    if args.collisions % args.batches:
        raise ValueError(f"--collisions {args.collisions} does not split into --batches {args.batches} equal "
                         "batches (give a multiple of --batches)")
    return Micromaser(args.g, n_levels=args.levels, on_truncation="ignore")


def _check_truncation(res, model, args) -> None:
    """A protocol whose top Fock level is populated is an artefact of the truncation: refuse it."""
    top = res["top_level_population"]
    if not top <= model.top_tol:
        raise ValueError(f"--levels {args.levels} truncates the cavity: the top Fock level |{args.levels - 1}> "
                         f"reached population {top:.2e} > {model.top_tol:g} in the optimum's {args.collisions} "
                         "collisions; increase --levels (levels > collisions + 1 never leak)")


def _cmd_micromaser(args) -> int:
    from .micromaser import optimize_micromaser, plot_protocol

    model = _check_micromaser(args)
    out = Path(args.out) if args.out else default_out("optimize-micromaser")
    print(f"[optimize] micromaser: lam={args.lam}, batches={args.batches}, collisions={args.collisions}, "
          f"levels={args.levels}, seed={args.seed}, starts={args.starts}, max steps/start={args.steps}", flush=True)
    res = optimize_micromaser(lam=args.lam, batches=args.batches, n_collisions=args.collisions, n_levels=args.levels,
                              g=args.g, seed=args.seed, starts=args.starts, max_steps=args.steps,
                              progress=lambda s: print(s, flush=True))
    _check_truncation(res, model, args)
    out.mkdir(parents=True, exist_ok=True)
    (out / "result.json").write_text(json.dumps(res, indent=2))
    plot_protocol(res, model, out)
    write_manifest(out, "optimize micromaser", _params(args), {"total": round(res["wall_s"], 3)}, seed=args.seed)
    cq = ", ".join(f"({c:.4f}, {q:.4f})" for c, q in zip(res["c"], res["q"]))
    print(f"[optimize] best: loss {res['loss']:.6f}, (c, q) = {cq if args.batches <= 4 else '...'}; "
          f"W {res['W_final']:.4f}, purity {res['purity_final']:.4f}, top level {res['top_level_population']:.2e}; "
          f"{res['wall_s']:.1f} s -> {out / 'result.json'}", flush=True)
    return 0


def _cmd_four_level(args) -> int:
    """Optimise, compare with the grid, write the outputs."""
    from .four_level import OBJECTIVES, optimize_four_level
    from .grid import grid_best
    from .output import _fmt, markdown_summary, write_result

    objectives = list(OBJECTIVES) if args.objective == "all" else [args.objective]
    if "ratio" in objectives and not args.e0_min > 0:
        raise ValueError(f"--e0-min must be > 0 for the ratio objective (it bounds E/E0); got {args.e0_min:g}")
    if "C4" in objectives and not args.j0_min > 0:
        raise ValueError(f"--j0-min must be > 0 for the C4 objective (it bounds j4/j0_4); got {args.j0_min:g}")
    out = Path(args.out) if args.out else default_out(f"optimize-four-level-{args.objective}")

    def say(line):
        print(line, flush=True)

    t0 = time.perf_counter()
    say(f"[inverse-design] four-level: objective {args.objective}, conventions {args.conventions}, starts "
        f"{args.starts}, steps {args.steps}, seed {args.seed}; grid {args.points}^7 (seed {args.grid_seed}) -> {out}")
    grid = grid_best(args.points, args.grid_seed, args.conventions, args.e0_min, args.j0_min,
                     dataset=args.dataset, progress=say)
    timings = {"grid": round(grid["wall_s"], 3)}
    results = []
    for o in objectives:
        target = out / o if len(objectives) > 1 else out
        init = None
        if args.from_grid and grid[o]["constrained"]["config_id"] is not None:
            init = [grid[o]["constrained"]["x"]]
        res = optimize_four_level(o, args.conventions, starts=args.starts, steps=args.steps, seed=args.seed,
                                  lr=args.lr, e0_min=args.e0_min, j0_min=args.j0_min, init=init, progress=say)
        data = write_result(res, grid, target)
        results.append(data)
        timings[o] = round(res["wall_s"], 3)
        say(f"[inverse-design] {o}: optimum {data['value']:.6g} vs grid best {_fmt(data['grid_best']['value'], 6)} "
            f"(config_id {data['grid_best']['config_id']}), ratio {_fmt(data['optimum_over_grid'], 4)} -> "
            f"{target / 'result.json'}")
    summary = markdown_summary(results)
    (out / "summary.md").write_text(f"# Inverse design of the four-level battery ({args.conventions})\n\n" + summary)
    timings["total"] = round(time.perf_counter() - t0, 3)
    write_manifest(out, f"optimize four-level --objective {args.objective}", _params(args), timings, seed=args.seed)
    say(summary)
    return 0


def _common(p, defaults: dict, steps_help: str) -> None:
    p.add_argument("--seed", type=int_at_least("--seed", 0), default=0, help="seed of the random starts (default 0)")
    p.add_argument("--starts", type=int_at_least("--starts", 1), default=defaults["starts"],
                   help=f"random starts (default {defaults['starts']})")
    p.add_argument("--steps", type=int_at_least("--steps", 1), default=defaults["steps"],
                   help=f"{steps_help} (default {defaults['steps']})")
    p.add_argument("--out", help="output directory (default runs/optimize-TARGET-<timestamp>)")


def register(subparsers) -> None:
    """Add ``qbjax optimize micromaser``, ``four-level``, ``charger`` and ``tavis-cummings`` to the CLI."""
    from .defaults import CONVENTIONS, E0_MIN, G_PAPER, J0_MIN, OBJECTIVES
    from .protocol_cli import register_protocol

    p = subparsers.add_parser("optimize", help="optimise charging protocols and battery designs (Optax, exact "
                                               "gradients)")
    targets = p.add_subparsers(dest="target", required=True, metavar="TARGET")

    m = targets.add_parser("micromaser", help="qubit-stream protocol of the micromaser battery (paper 002, Eq. 11)")
    m.add_argument("--lam", type=finite_float("--lam", 0.0), default=10.0,
                   help="stability penalty lambda >= 0 of Eq. (11): the weight of the energy changes "
                        "sum |E_k - E_(k-1)| over the stream's tail added to the loss (default 10)")
    m.add_argument("--batches", type=int_at_least("--batches", 1), default=1,
                   help="number of equal batches (c_k, q_k); must divide --collisions (default 1)")
    m.add_argument("--collisions", type=int_at_least("--collisions", 1), default=1000,
                   help="stream length n (default 1000)")
    m.add_argument("--levels", type=int_at_least("--levels", 2), default=120,
                   help="Fock truncation, >= 2; an optimum that populates the top level is refused (default 120)")
    m.add_argument("--g", type=finite_float("--g"), default=G_PAPER, help="coupling (default pi/sqrt(15.6))")
    _common(m, MICROMASER_DEFAULTS, "max L-BFGS iterations per start")
    m.set_defaults(func=_cmd_micromaser)

    f = targets.add_parser("four-level", help="inverse design of the four-level battery over the Table-I box "
                                              "(paper 000)")
    f.add_argument("--objective", choices=list(OBJECTIVES) + ["all"], default="ratio",
                   help="objective to maximise (default ratio; 'all' shares one grid pass)")
    f.add_argument("--conventions", choices=list(CONVENTIONS), default="physical",
                   help="generator conventions (default physical)")
    f.add_argument("--points", type=int_at_least("--points", 1), default=8,
                   help="comparison grid points per axis (default 8)")
    f.add_argument("--grid-seed", type=int_at_least("--grid-seed", 0), default=0,
                   help="seed of the Table-I grid (default 0)")
    f.add_argument("--lr", type=finite_float("--lr", positive=True), default=0.1,
                   help="initial Adam learning rate, > 0 (default 0.1)")
    f.add_argument("--e0-min", type=finite_float("--e0-min", 0.0), default=E0_MIN,
                   help=f"ratio (and C4): constraint E0 >= E0_MIN, > 0 for the ratio (default {E0_MIN}; "
                        "0 drops it for C4)")
    f.add_argument("--j0-min", type=finite_float("--j0-min", 0.0), default=J0_MIN,
                   help=f"C4: constraint |j0_4| >= J0_MIN, > 0 (default {J0_MIN})")
    f.add_argument("--from-grid", action="store_true",
                   help="use the grid's best configuration as the first start (the optimum is then at least the "
                        "grid best by construction)")
    f.add_argument("--dataset", help="read the grid from a `qbjax sweep` dataset directory")
    _common(f, FOUR_LEVEL_DEFAULTS, "Adam steps per start")
    f.set_defaults(func=_cmd_four_level)
    register_protocol(targets)
