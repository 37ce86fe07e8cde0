"""Gradient-based optimisation of batteries: charging protocols and designs (Optax, exact gradients).

Modules, one concept each:

* :mod:`~qbjax.optimize.box`: box constraints by the sigmoid reparametrisation;
* :mod:`~qbjax.optimize.multistart`: the compiled optimisers (L-BFGS; vmapped multistart Adam ascent
  keeping the best feasible point);
* :mod:`~qbjax.optimize.micromaser`: the micromaser's qubit-stream protocol (paper 002, Eq. 11);
* :mod:`~qbjax.optimize.four_level`: inverse design of the four-level battery over the Table-I box
  (paper 000): objectives, constraints, starts, edges;
* :mod:`~qbjax.optimize.grid`: the design's comparison with the seeded Table-I grid;
* :mod:`~qbjax.optimize.output`: result.json, figures and the summary table;
* :mod:`~qbjax.optimize.cli`: ``qbjax optimize micromaser`` and ``qbjax optimize four-level``.
"""

from .._lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, {
    "Box": ".box",
    "G_PAPER": ".defaults",
    "grid_best": ".grid",
    "optimize_four_level": ".four_level",
    "optimize_micromaser": ".micromaser",
})
