"""Cells of ``protocol_optimisation.ipynb`` (time-dependent charging protocols), used by ``_build.py``."""

from __future__ import annotations


def cells(md, code, setup, footer):
    """The notebook's cells, built with ``_build.py``'s ``md`` and ``code`` helpers."""
    return [
        md(r"""
        # Time-dependent charging protocols: when does a pulse beat a constant?

        **Beyond the papers.** Papers 003 (Tavis-Cummings battery, detuning $\Delta^*$) and 004
        (charger-battery qubits, optimal charging times) optimise *static* parameters. Here a parameter
        becomes a control $u(t)$ on $[0, t_1]$, piecewise constant in $n$ segments and bounded by the
        sigmoid box $u = u_{\min} + (u_{\max} - u_{\min})\,\sigma(z)$, and `qb.optimize_protocol`
        maximises a figure of merit $F$ at $t_1$ with exact reverse-mode gradients through the diffrax
        solve of $\dot\rho = \mathcal L(u(t), t)\,\rho$:

        $$\max_{u}\; F[\rho(t_1)],\qquad u_{\min} \le u(t) \le u_{\max}.$$

        An optimum on a bound (bang-bang) sits at $z \to \pm\infty$, so the loops below use
        `optax.rprop(0.5)` (sign-based steps that grow while the gradient keeps its sign). Every number
        quoted in the text is printed by the cells; units $\hbar = 1$, energies in units of
        $\omega_b$, times in $1/\omega_b$.
        """),
        code(setup, """
        import optax
        from qbjax.control import PiecewiseConstant, protocol_value
        from qbjax.models.charger_battery import ChargerBattery
        TC = qb.models.TavisCummingsBattery
        RPROP = optax.rprop(0.5)"""),
        md(r"""
        ## (a) Charger battery, no loss: the bang-bang closed form

        Charger excited ($\theta = \pi$), $\gamma = 0$, coupling $J(t) \in [0, J_{\max}]$. The hopping term
        commutes with $\omega_b(n_a + n_b)$, so the state at $t_1$ depends only on the pulse area
        $A = \int_0^{t_1} J\,dt$: the battery is diagonal with excited population $\sin^2 A$, so
        $E_b(t_1) = \omega_b \sin^2 A$ and its ergotropy is $\omega_b\max(0, 2\sin^2 A - 1)$. For
        $J_{\max} t_1 < \pi/2$ both grow with $A$, so the best protocol is $J = J_{\max}$ throughout, with
        $E = \omega_b\sin^2(J_{\max} t_1)$. The loop maximises the ergotropic power $\mathcal E(t_1)/t_1$
        (the objective of (c)) at $t_1 = t_{P\mathcal E}$ of the lossy charger of (c), with the decay rate
        $\gamma$ passed as a *frozen* control (`optax.set_to_zero` through `optax.multi_transform`): (a)
        and (c) then share one compiled optimisation loop. 20 segments, start $J = 0.7\,J_{\max}$.
        """),
        code("""
        J_MAX, OMEGA_B, GAMMA = 1.0, 1.0, 0.3
        def charger(v):
            return ChargerBattery(theta=jnp.pi, J=v["J"], omega_b=OMEGA_B, gamma=v["gamma"])
        static = {k: float(x) for k, x in ChargerBattery(theta=jnp.pi, J=J_MAX, omega_b=OMEGA_B,
                                                         gamma=GAMMA).optimal_times().items()}
        T1C = static["t_Pe"]
        opt_c = optax.multi_transform({"free": RPROP, "frozen": optax.set_to_zero()}, {"J": "free", "gamma": "frozen"})
        def run_charger(gamma):
            ctr = {"J": PiecewiseConstant(0.7 * J_MAX, T1C, n=20, bounds=(0.0, J_MAX)),
                   "gamma": PiecewiseConstant(gamma, T1C, n=1)}
            return qb.optimize_protocol(charger, ctr, "ergotropic-power", T1C, optimizer=opt_c, steps=40)

        ra = run_charger(0.0)
        exact_e = OMEGA_B * np.sin(J_MAX * T1C) ** 2
        exact_w = OMEGA_B * (2 * np.sin(J_MAX * T1C) ** 2 - 1)
        print(f"t1 = {T1C:.4f}: optimised E(t1) = {ra.energy[-1]:.10f}, closed form omega_b sin^2(J_max t1) = "
              f"{exact_e:.10f} (relative difference {abs(ra.energy[-1] - exact_e) / exact_e:.1e})")
        print(f"optimised ergotropy {ra.objective * T1C:.10f}, closed form {exact_w:.10f} "
              f"(relative difference {abs(ra.objective * T1C - exact_w) / exact_w:.1e})")
        print(f"J(t) / J_max per segment: {np.round(np.asarray(ra.controls['J'].values()) / J_MAX, 6)}")
        assert abs(ra.energy[-1] - exact_e) / exact_e < 1e-6"""),
        md(r"""
        ## (b) Tavis-Cummings battery: a time-dependent detuning

        $N$ qubits start charged, $|J,J\rangle\otimes|0\rangle$, and leak energy through a lossy cavity
        (paper 003; environment A: $L = a$ at $\gamma_0 e^{-\lambda t}$; environment B: thermal cavity
        plus collective dephasing). The paper detunes the cavity by the constant
        $\Delta^* = g\sqrt{N/(2\gamma_0)}$ (Eq. 7). As $\Delta \to \infty$ the cavity decouples and the
        battery keeps all its charge, so the question only makes sense with a bounded detuning: here
        $0 \le \Delta(t) \le 2\Delta^*$, piecewise constant in 20 segments on $[0, 20]$, maximising the
        physical ergotropy of $\rho_B(20)$. Compared with the best constant detuning of a 161-point scan of
        $[0, 2\Delta^*]$ and with $\Delta^*$.

        Both environments are environment `"general"` of the model, with their parameters passed as
        *frozen* controls (`optax.set_to_zero` through `optax.multi_transform`), so A and B share one
        compiled optimisation loop. The cavity holds $N + 2$ Fock states: exact for A (the excitation
        number never exceeds $N$); for B the truncation is checked against the paper's 6 at the static
        optimum and at $\Delta^*$. The notebook runs $N = 2$ with 20 steps (run time); the full-size run ($N = 2, 3$, 100
        steps) is in `reports/protocol-optimisation/README.md`.
        """),
        code("""
        N, T1, NSEG, STEPS = 2, 20.0, 20, 20
        NC = N + 2
        ENV = {"A": {"lam": 0.05, "n0": 0.0, "gamma_phi": 0.0}, "B": {"lam": 0.0, "n0": 0.1, "gamma_phi": 0.02}}

        def battery(v):
            return TC(N, detuning=v["Delta"], n_cavity=NC, environment="general",
                      lam=v["lam"], n0=v["n0"], gamma_phi=v["gamma_phi"])

        d_star = float(TC(N).optimal_detuning())
        hi = 2 * d_star
        scan = np.linspace(0.0, hi, 161)
        opt = optax.multi_transform({"free": RPROP, "frozen": optax.set_to_zero()},
                                    {"Delta": "free", "lam": "frozen", "n0": "frozen", "gamma_phi": "frozen"})

        def env_arrays(envs):   # the environment parameters of each point, for one batched "general" model
            return {k: jnp.asarray([ENV[e][k] for e in envs]) for k in ENV["A"]}

        # the static scans of both environments (and Delta*) in one batched solve
        dets = np.tile(np.append(scan, d_star), 2)
        envs = ["A"] * (len(scan) + 1) + ["B"] * (len(scan) + 1)
        e_all = np.asarray(TC(N, detuning=jnp.asarray(dets), n_cavity=NC, environment="general",
                              **env_arrays(envs)).final_ergotropy(T1, rtol=1e-6, atol=1e-8)).reshape(2, -1)
        best = {env: int(np.argmax(e_all[k, :-1])) for k, env in enumerate(ENV)}
        # the truncation check: the paper's n_cavity = 6 at the static optimum and at Delta*
        e6 = np.asarray(TC(N, detuning=jnp.asarray([scan[best["A"]], scan[best["B"]], d_star, d_star]), n_cavity=6,
                           environment="general", **env_arrays(["A", "B", "A", "B"])).final_ergotropy(T1))
        tc = {}
        for k, (env, p) in enumerate(ENV.items()):
            e, e_star, i = e_all[k, :-1], float(e_all[k, -1]), best[env]
            start = float(np.clip(scan[i], 0.01 * hi, 0.99 * hi))   # inside the box
            ctr = {"Delta": PiecewiseConstant(start, T1, n=NSEG, bounds=(0.0, hi))}
            ctr.update({k: PiecewiseConstant(v, T1, n=1) for k, v in p.items()})
            r = qb.optimize_protocol(battery, ctr, "ergotropy", T1, optimizer=opt, steps=STEPS, rtol=1e-6, atol=1e-8)
            tc[env] = dict(scan=e, e_star=e_star, d_best=scan[i], e_best=e[i], r=r)
            print(f"env {env}: E(Delta* = {d_star:.4f}) = {e_star:.4f} (n_cavity 6: {e6[2 + k]:.4f}); best static "
                  f"Delta = {scan[i]:.4f} (E = {e[i]:.4f}; n_cavity 6: {e6[k]:.4f}); time-dependent E = "
                  f"{r.objective:.4f} ({r.wall_s:.0f} s, {STEPS} steps)")"""),
        code("""
        for env, v in tc.items():
            gain_static, gain_star = v["r"].objective - v["e_best"], v["r"].objective - v["e_star"]
            verdict = ("time dependence gains nothing" if gain_static < 1e-3 else
                       f"time dependence gains {gain_static:.4f} ({100 * gain_static / v['e_best']:.1f}%)")
            print(f"env {env}: over the best constant detuning, {verdict}; over Delta*, "
                  f"{gain_star:+.4f} ({100 * gain_star / v['e_star']:+.1f}%); best constant detuning on the "
                  f"bound 2 Delta*: {bool(v['d_best'] >= hi - 1e-12)}")
            x = np.asarray(v["r"].controls["Delta"].values()) / hi
            share = (v["e_best"] - v["e_star"]) / gain_star
            print(f"        of the gain over Delta*, {100 * share:.0f}% is that of the best constant detuning")
            print(f"        optimised Delta(t): {np.sum(x > 0.99)} of {NSEG} segments within 1% of 2 Delta*, "
                  f"{np.sum(x < 0.01)} within 1% of 0, the rest in between")

        fig, ax = plt.subplots(1, 3, figsize=(11, 3.2))
        for env, c in (("A", "C0"), ("B", "C1")):
            v = tc[env]
            ax[0].plot(scan / d_star, v["scan"], color=c, label=f"env {env}, constant Delta")
            ax[0].axhline(v["r"].objective, color=c, ls="--", lw=1, label=f"env {env}, Delta(t) optimised")
            u = v["r"].controls["Delta"]
            ax[1].stairs(np.asarray(u.values()) / d_star, u.edges(), color=c, label=f"env {env}")
            ax[2].plot(v["r"].ts, v["r"].ergotropy, color=c, label=f"env {env}, Delta(t)")
        ax[0].axvline(1.0, color="k", ls=":", lw=1, label="Delta* (Eq. 7)")
        ax[0].set_xlabel("constant detuning Delta / Delta*"); ax[0].set_ylabel("ergotropy at t = 20 (omega_b)")
        ax[1].set_xlabel("time t (1/omega_b)"); ax[1].set_ylabel("optimised Delta(t) / Delta*")
        ax[2].set_xlabel("time t (1/omega_b)"); ax[2].set_ylabel("ergotropy (omega_b)")
        for a in ax: a.legend(fontsize=7)
        fig.suptitle(f"N = {N}: detuning in [0, 2 Delta*], {NSEG} segments"); fig.tight_layout()"""),
        md(r"""
        The counts above say how close the optimised detuning is to a bang-bang profile (on a bound
        in every segment). With 20 steps the loop is not converged; the full-size run in
        `reports/protocol-optimisation/README.md` (100 steps, $N = 2$ and 3) gives the converged numbers.

        ## (c) Charger battery with charger decay: ergotropic power

        Now the charger decays, $\gamma\,\mathcal D[\sigma_a]$ ($\gamma = 0.3\,J_{\max}$), and the figure of
        merit is the ergotropic power $P_{\mathcal E} = \mathcal E(t_1)/t_1$. The paper's static optimum
        (Eqs. 63-68) keeps $J = J_{\max}$ and stops at the best time $t_{P\mathcal E}$ (`optimal_times`,
        exact propagators). Does a pulse $J(t) \in [0, J_{\max}]$ do better at $t_1 = t_{P\mathcal E}$?
        """),
        code("""
        rc = run_charger(GAMMA)
        gain = rc.objective - static["Pe_max"]
        print(f"static optimum (J = J_max, stop at t_Pe = {T1C:.4f}): P_e,max = {static['Pe_max']:.8f}")
        print(f"J(t) optimised, 20 segments: P_e = {rc.objective:.8f}; gain {gain:+.2e} "
              f"({100 * gain / static['Pe_max']:+.4f}%)")
        x = np.asarray(rc.controls["J"].values()) / J_MAX
        print(f"J(t) / J_max: min {x.min():.6f}, max {x.max():.6f}")
        print("verdict: time dependence " + ("gains nothing" if gain < 1e-6 else f"gains {gain:.2e}")
              + " over the static optimum of the ergotropic power")

        fig, ax = plt.subplots(1, 2, figsize=(9, 3.2))
        for r, lab, c in ((ra, "gamma = 0", "C0"), (rc, f"gamma = {GAMMA}", "C1")):
            u = r.controls["J"]
            ax[0].stairs(np.asarray(u.values()) / J_MAX, u.edges(), color=c, label=lab)
            ax[1].plot(r.ts[1:], r.ergotropy[1:] / r.ts[1:], color=c, label=f"J(t) optimised, {lab}")
        ax[1].axhline(static["Pe_max"], color="k", ls=":", label=f"static optimum P_e,max, gamma = {GAMMA}")
        ax[0].set_xlabel("time t (1/omega_b)"); ax[0].set_ylabel("J(t) / J_max"); ax[0].set_ylim(-0.05, 1.1)
        ax[1].set_xlabel("time t (1/omega_b)"); ax[1].set_ylabel("ergotropy(t) / t (omega_b^2)")
        for a in ax: a.legend(fontsize=7)
        fig.tight_layout()"""),
        md(r"""
        **Where time dependence gains nothing.** The verdicts are printed above from the numbers (a gain
        below $10^{-3}$ for the ergotropy, or below $10^{-6}$ for the ergotropic power, counts as
        nothing). For the charger battery the verdict of (c) compares the pulse with the static optimum
        of the ergotropic power. For the Tavis-Cummings battery, compare the gain over the best constant detuning in the same bounds with
        the gain over $\Delta^*$: the printed share says how much of the latter a constant detuning
        already buys.
        """),
        code(footer),
    ]
