"""Numbers printed in the papers, typed from them: the reference column of the reports and tests.

Nothing here is computed by qbjax.
"""

from __future__ import annotations

import numpy as np

# ---- paper 003, Tavis-Cummings battery -----------------------------------------------------------
#: Table I: (N, environment) -> (ergotropy without detuning, with Delta*, BLP without, BLP with);
#: Delta* = g sqrt(N / (2 gamma0)) = g sqrt(N / 0.1); published ergotropy functional
TC_TABLE_I = {
    (1, "A"): (0.4237, 5.0349, 0.0847, 0.213),
    (2, "A"): (5.0801, 9.4207, 0.5866, 0.0462),
    (3, "A"): (10.1218, 15.6048, 0.6814, 0.0116),
    (4, "A"): (16.0124, 22.5293, 0.6902, 0.0018),
    (1, "B"): (0.5804, 4.5691, 0.0452, 0.1385),
    (2, "B"): (3.7815, 9.1494, 0.3790, 0.0351),
    (3, "B"): (7.7973, 15.1070, 0.5474, 0.0082),
    (4, "B"): (11.7091, 21.5304, 0.5628, 0.0157),
}
#: the paper's save times (its ``tlist``): 150 points on [0, 20], units 1/w_b
TC_TIMES = np.linspace(0.0, 20.0, 150)
#: fitted exponents of the numerically optimal detuning, Delta_opt ~ N^beta, per environment
TC_BETA = {"A": 0.308, "B": 0.206}
