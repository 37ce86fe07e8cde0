"""``qbjax optimize charger`` and ``qbjax optimize tavis-cummings``: time-dependent charging protocols.

One control u(t) on [0, t1] (``--control``: the charger's coupling J, the Tavis-Cummings cavity
detuning), ``--segments`` pieces of a ``--basis`` within ``--bounds LO HI``, optimised for
``--objective`` by :func:`qbjax.control.optimize_protocol` and compared with the best static
parameter (``--static-points`` constant controls in the bounds, same objective; see
:mod:`qbjax.optimize.protocol`).  Writes into ``--out``: ``result.json`` (``objective_value``,
``controls``, ``t1``, ``segments``, ``wall_s``, ``n_steps``, the static scan, the gain and the
charging curves), ``protocol.png`` (u(t) and the energy/ergotropy curves, optimised and static),
``report.md`` (the comparison) and ``manifest.json``.  Progress goes to stderr.

This module holds the argument parsers and the outputs; it imports no JAX until a command runs.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from .._runs import default_out, finite_float, fmt, int_at_least, md_table, write_manifest
from .defaults import PROTOCOL_BASES as BASES
from .defaults import PROTOCOL_OBJECTIVES as OBJECTIVES

__all__ = ["register_protocol"]

#: per target: the controls, their axis labels, the units of energy and time, defaults
TARGETS = {
    "charger": {"controls": {"J": "coupling J(t)"}, "energy": "energy units", "time": "1/energy, hbar = 1",
                "bounds": (0.0, 1.0), "t1": 1.0, "objective": "energy"},
    "tavis-cummings": {"controls": {"detuning": "detuning Delta(t)"}, "energy": "w_b", "time": "1/w_b",
                       "bounds": (0.0, 1.0), "t1": 20.0, "objective": "ergotropy"},
}
DEFAULTS = {"segments": 8, "starts": 4, "steps": 100, "lr": 0.5, "static_points": 41}
#: the number format of report.md (result.json keeps full precision)
DIGITS = 10


def _choice(option: str, names, note: str = ""):
    """argparse type: one of ``names``, with an error naming the option."""

    def parse(text):
        if text not in names:
            raise argparse.ArgumentTypeError(f"{option} must be one of {', '.join(names)}{note}; got {text!r}")
        return text

    return parse


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _objective_unit(target: str, objective: str) -> str:
    t = TARGETS[target]
    return f"{t['energy']} per time" if objective in ("power", "ergotropic-power") else t["energy"]


def _check(args) -> None:
    """What argparse cannot check option by option (ValueError naming the option)."""
    lo, hi = args.bounds
    if not lo < hi:
        raise ValueError(f"--bounds needs LO < HI; got LO = {lo:g}, HI = {hi:g}")
    if args.target == "charger" and lo < 0:
        raise ValueError(f"--bounds: the coupling J must be >= 0 (ChargerBattery); got LO = {lo:g}")
    if args.target == "charger" and args.off < 0:
        raise ValueError(f"--off: the coupling J must be >= 0 (ChargerBattery); got {args.off:g}")
    if args.objective == "stored-ergotropy" and args.t_store is None:
        raise ValueError("--t-store (the storage time, > 0) is required for --objective stored-ergotropy")
    if args.objective != "stored-ergotropy" and args.t_store is not None:
        raise ValueError(f"--t-store is only used by --objective stored-ergotropy; got --objective {args.objective}")
    if args.target == "tavis-cummings":
        n_cav = args.n_qubits + 1 if args.n_cavity is None else args.n_cavity
        if n_cav < args.n_qubits + 1:
            raise ValueError(f"--n-cavity must be >= --n-qubits + 1 = {args.n_qubits + 1} (the charged start holds "
                             f"{args.n_qubits} excitations); got {n_cav}")


def _model_fn(args):
    from .protocol import ChargerFn, TavisCummingsFn

    if args.target == "charger":
        return ChargerFn(theta=args.theta, phi=args.phi, omega_b=args.omega_b, gamma=args.gamma)
    n_cav = args.n_qubits + 1 if args.n_cavity is None else args.n_cavity
    return TavisCummingsFn(n_qubits=args.n_qubits, n_cavity=n_cav, environment=args.environment, g=args.g,
                           gamma0=args.gamma0)


def _cmd_protocol(args) -> int:
    _check(args)
    from .protocol import run_protocol

    model_fn = _model_fn(args)
    out = Path(args.out) if args.out else default_out(f"optimize-{args.target}")
    _say(f"[optimize] {args.target}: {model_fn} -> {out}")
    result, extra = run_protocol(model_fn, args.control, basis=args.basis, segments=args.segments,
                                 bounds=tuple(args.bounds), t1=args.t1, objective=args.objective,
                                 t_store=args.t_store, off=args.off, starts=args.starts, steps=args.steps,
                                 seed=args.seed, optimizer_name=args.optimizer, lr=args.lr,
                                 static_points=args.static_points, from_static=args.from_static, say=_say)
    result["model"] = args.target
    out.mkdir(parents=True, exist_ok=True)
    from .._runs import jsonable

    (out / "result.json").write_text(json.dumps(jsonable(result), indent=2))
    plot_protocol(result, extra, args.target, out / "protocol.png")
    (out / "report.md").write_text(report(result, args.target))
    params = {k: v for k, v in vars(args).items() if k != "func"}
    write_manifest(out, f"optimize {args.target}", params,
                   {"static": round(result["static"]["wall_s"], 3), "optimise": round(result["wall_s"], 3),
                    "total": round(result["total_wall_s"], 3)}, seed=args.seed)
    _say(f"[optimize] {args.objective}: optimised {fmt(result['objective_value'], 8)} vs best static "
         f"{fmt(result['static']['best_value'], 8)} ({args.control} = {fmt(result['static']['best_parameter'])}); "
         f"gain {fmt(result['gain'], 4)} -> {out / 'report.md'}")
    return 0


# ---------------------------------------------------------------------------------------------
# outputs
# ---------------------------------------------------------------------------------------------


def plot_protocol(result: dict, extra: dict, target: str, path) -> None:
    """protocol.png: u(t) (optimised, best static, bounds) and the charging curves E(t), ergotropy(t)."""
    import jax
    import numpy as np

    from .._figures import save_figure
    from .._runs import pyplot

    plt = pyplot()
    t = TARGETS[target]
    name = result["control_names"][0]
    t1 = result["t1"]
    fig, (ax_u, ax_e) = plt.subplots(1, 2, figsize=(11, 4))
    ts = np.linspace(0.0, t1, 801)
    u = np.asarray(jax.vmap(extra["controls"][name])(ts))
    ax_u.plot(ts, u, color="tab:red", lw=1.8, label=f"optimised ({result['basis']}, {result['segments']})")
    ax_u.axhline(result["static"]["best_parameter"], color="tab:blue", ls="--",
                 label=f"best static {name} = {fmt(result['static']['best_parameter'], 4)}")
    for b in result["bounds"]:
        ax_u.axhline(b, color="0.5", ls=":", lw=0.8)
    ax_u.set_xlabel(f"time t ({t['time']})")
    ax_u.set_ylabel(f"{t['controls'][name]} ({t['energy']})")
    ax_u.set_title(f"control on [0, t1 = {fmt(t1, 4)}]; bounds dotted")
    ax_u.legend(fontsize=8)
    c = result["curves"]
    ax_e.plot(c["ts"], c["energy"], color="tab:red", label="energy, optimised")
    ax_e.plot(c["ts"], c["ergotropy"], color="tab:orange", label="ergotropy, optimised")
    ax_e.plot(c["ts"], c["static_energy"], color="tab:blue", ls="--", label="energy, best static")
    ax_e.plot(c["ts"], c["static_ergotropy"], color="tab:cyan", ls="--", label="ergotropy, best static")
    if result["objective"] == "stored-ergotropy":
        t_end = t1 + result["t_store"]
        ax_e.scatter([t_end], [result["objective_value"]], color="tab:orange", marker="*", s=90, zorder=3,
                     label="stored ergotropy, optimised")
        ax_e.scatter([t_end], [result["static"]["best_value"]], color="tab:cyan", marker="x", s=60, zorder=3,
                     label="stored ergotropy, best static")
    ax_e.set_xlabel(f"time t ({t['time']})")
    ax_e.set_ylabel(f"battery energy, ergotropy ({t['energy']})")
    ax_e.set_title(f"objective {result['objective']} = {fmt(result['objective_value'], 6)}")
    ax_e.legend(fontsize=7)
    save_figure(fig, path)


VERDICTS = {
    "gain": "The time-dependent protocol beats the best static one by more than the tolerance.",
    "none": "The time dependence gains nothing: the optimised protocol equals the best static one within the "
            "tolerance.",
    "below": "The optimised protocol stays below the best static one by more than the tolerance: the optimiser did "
             "not reach the static optimum (more --steps or --starts, or --from-static).",
}


def _n(x) -> str:
    return fmt(x, DIGITS)


def report(result: dict, target: str) -> str:
    """report.md: the optimised objective against the best static parameter, and the optimised control."""
    t = TARGETS[target]
    name = result["control_names"][0]
    unit = _objective_unit(target, result["objective"])
    s = result["static"]
    lo, hi = result["bounds"]
    model = ", ".join(f"{k} = {v}" for k, v in result["model_parameters"].items())
    store = f", t_store = {_n(result['t_store'])} ({t['time']}) with {name} = {_n(result['off'])}" \
        if result["objective"] == "stored-ergotropy" else ""
    lines = [f"# Charging protocol: {target}, objective {result['objective']}", "",
             f"Model {target} ({model}); control {name}(t), {result['basis']} with {result['segments']} "
             f"{'harmonics' if result['basis'] == 'fourier' else 'segments'} in [{_n(lo)}, {_n(hi)}] ({t['energy']}); "
             f"t1 = {_n(result['t1'])} ({t['time']}){store}.",
             f"Optimiser {result['optimizer']} (lr {_n(result['lr'])}), {result['starts']} starts x "
             f"{result['n_steps']} steps (seed {result['seed']}; first start "
             f"{'the best static value' if result['from_static'] else 'the middle of the bounds'}), "
             f"{fmt(result['wall_s'], 4)} s (compilation included).",
             f"Static comparison: {len(s['parameters'])} constant values of {name} on a uniform grid of "
             f"[{_n(lo)}, {_n(hi)}] (spacing {_n((hi - lo) / (len(s['parameters']) - 1))}: the static optimum is "
             f"resolved to that spacing only), each evaluated with the same objective.", ""]
    rows = [["optimised objective", _n(result["objective_value"]), unit],
            ["best static objective", _n(s["best_value"]), unit],
            [f"best static {name}", _n(s["best_parameter"]), t["energy"]],
            ["gain (optimised - static)", _n(result["gain"]), unit],
            ["relative gain", _n(result["relative_gain"]), "dimensionless"],
            ["gain tolerance", _n(result["gain_tolerance"]), unit]]
    lines += md_table(["quantity", "value", "unit"], rows)
    lines += [VERDICTS[result["verdict"]], ""]
    values = result["controls"][0]
    if result["basis"] == "fourier":
        lines += [f"Optimised series coefficients (logit space): {', '.join(_n(v) for v in values)}", ""]
    else:
        n = len(values)
        dt = result["t1"] / result["segments"]
        if result["basis"] == "piecewise-constant":
            rows = [[str(k), f"[{_n(k * dt)}, {_n((k + 1) * dt)})", _n(v)] for k, v in enumerate(values)]
            head = ["segment", f"t ({t['time']})", f"{name} ({t['energy']})"]
        else:
            rows = [[str(k), _n(k * dt), _n(v)] for k, v in zip(range(n), values)]
            head = ["node", f"t ({t['time']})", f"{name} ({t['energy']})"]
        lines += ["Optimised control:", ""] + md_table(head, rows)
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# parsers
# ---------------------------------------------------------------------------------------------


def _common(p, target: str) -> None:
    d = TARGETS[target]
    names = list(d["controls"])
    note = " (ChargerBattery has no drive term: the coupling J is its only control)" if target == "charger" else ""
    p.add_argument("--control", type=_choice("--control", names, note), default=names[0], metavar="NAME",
                   help=f"the controlled parameter (default {names[0]}){note}")
    p.add_argument("--basis", type=_choice("--basis", BASES), default="piecewise-constant",
                   help=f"the control basis: {', '.join(BASES)} (default piecewise-constant)")
    p.add_argument("--segments", type=int_at_least("--segments", 1), default=DEFAULTS["segments"],
                   help=f"segments of a piecewise control, harmonics of a Fourier one (default {DEFAULTS['segments']})")
    p.add_argument("--bounds", nargs=2, type=finite_float("--bounds"), metavar=("LO", "HI"), default=d["bounds"],
                   help=f"the control stays in [LO, HI], LO < HI (default {d['bounds'][0]:g} {d['bounds'][1]:g})")
    p.add_argument("--t1", type=finite_float("--t1", positive=True), default=d["t1"], metavar="T",
                   help=f"charging time, > 0 ({d['time']}; default {d['t1']:g})")
    p.add_argument("--objective", type=_choice("--objective", OBJECTIVES), default=d["objective"], metavar="NAME",
                   help=f"maximised at t1: {', '.join(OBJECTIVES)} (default {d['objective']})")
    p.add_argument("--t-store", type=finite_float("--t-store", positive=True), metavar="T",
                   help="storage time after t1 of --objective stored-ergotropy (required there)")
    p.add_argument("--off", type=finite_float("--off"), default=0.0,
                   help="the control's value during the storage phase (default 0)")
    p.add_argument("--starts", type=int_at_least("--starts", 1), default=DEFAULTS["starts"],
                   help=f"starts: the middle of the bounds (or the best static value), then random (default "
                        f"{DEFAULTS['starts']})")
    p.add_argument("--steps", type=int_at_least("--steps", 1), default=DEFAULTS["steps"],
                   help=f"optimiser steps per start (default {DEFAULTS['steps']})")
    p.add_argument("--seed", type=int_at_least("--seed", 0), default=0, help="seed of the random starts (default 0)")
    p.add_argument("--optimizer", type=_choice("--optimizer", ("rprop", "adam")), default="rprop",
                   help="Optax optimiser: rprop (default; reaches optima on a bound) or adam")
    p.add_argument("--lr", type=finite_float("--lr", positive=True), default=DEFAULTS["lr"],
                   help=f"learning rate (rprop: initial step in the sigmoid parameters; default {DEFAULTS['lr']:g})")
    p.add_argument("--static-points", type=int_at_least("--static-points", 2), default=DEFAULTS["static_points"],
                   help=f"constant controls of the static comparison (default {DEFAULTS['static_points']})")
    p.add_argument("--from-static", action="store_true", help="first start at the best static value")
    p.add_argument("--out", help=f"output directory (default runs/optimize-{target}-<timestamp>)")
    p.set_defaults(func=_cmd_protocol)


def register_protocol(targets) -> None:
    """Add ``charger`` and ``tavis-cummings`` to the ``qbjax optimize`` targets."""
    c = targets.add_parser("charger", help="time-dependent coupling J(t) of the charger-battery qubits (paper 004), "
                                           "against the best static J")
    c.add_argument("--theta", type=finite_float("--theta"), default=math.pi,
                   help="charger Bloch angle theta (default pi: charger excited)")
    c.add_argument("--phi", type=finite_float("--phi"), default=0.0, help="charger Bloch phase phi (default 0)")
    c.add_argument("--gamma", type=finite_float("--gamma", 0.0), default=0.0,
                   help="charger decay rate gamma >= 0 (energy units; default 0)")
    c.add_argument("--omega-b", type=finite_float("--omega-b", positive=True), default=1.0,
                   help="qubit splitting omega_b > 0 (energy units; default 1)")
    _common(c, "charger")
    tc = targets.add_parser("tavis-cummings", help="time-dependent cavity detuning Delta(t) of the Tavis-Cummings "
                                                   "battery (paper 003), against the best static detuning")
    tc.add_argument("--n-qubits", type=int_at_least("--n-qubits", 1), default=1, help="qubits N (default 1)")
    tc.add_argument("--n-cavity", type=int_at_least("--n-cavity", 2),
                    help="cavity Fock cutoff, >= N + 1 (default N + 1: exact for environment A)")
    tc.add_argument("--environment", type=_choice("--environment", ("A", "B")), default="A",
                    help="A (decaying cavity loss) or B (thermal cavity and dephasing) (default A)")
    tc.add_argument("--g", type=finite_float("--g"), default=0.1, help="qubit-cavity coupling g (w_b; default 0.1)")
    tc.add_argument("--gamma0", type=finite_float("--gamma0", 0.0), default=0.05,
                    help="cavity rate scale gamma0 >= 0 (w_b; default 0.05)")
    _common(tc, "tavis-cummings")
