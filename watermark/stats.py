"""The detection statistic and its false-positive bound (derivation in README.md).

For one synchronization hypothesis the pilot score is a Rademacher sum: the
pilot chips' signs are key-seeded coin flips, independent of an unmarked
image (and of any mark made with another key) and of everything the
detector computed before looking at the key. Hoeffding's inequality then
bounds, for ANY image, P(z >= x) <= exp(-x^2 / 2). Taking the best of H
hypotheses, the union (Bonferroni) bound gives P <= H exp(-x^2 / 2).
"""

from __future__ import annotations

import math

FALSE_POSITIVE_RATE = 1e-9  # per image (or per clip), all hypotheses included


def p_value(z: float, hypotheses: int) -> float:
    """Upper bound on the chance that an unmarked input scores z or more."""
    if z <= 0:
        return 1.0
    return min(1.0, hypotheses * math.exp(-0.5 * z * z))


def threshold(hypotheses: int, rate: float = FALSE_POSITIVE_RATE) -> float:
    """The z an input must reach so that p_value(z) <= rate."""
    return math.sqrt(2.0 * math.log(hypotheses / rate))
