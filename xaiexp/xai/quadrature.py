"""Quadrature rules for integrated gradients' path integral ∫₀¹ ∇f(b + α(x − b)) dα.

A rule maps a step count n to n nodes α in [0, 1] and weights that sum to 1, so the weighted
sum of the path's gradients estimates the integral's mean value. ``linspace`` is FastEstimator's
(and PAIR ``saliency``'s): the plain mean of the gradients at linspace(0, 1, n), both ends
included. The Riemann rules and Gauss–Legendre are Captum's (``captum.attr``'s
``approximation_methods``; its default is ``gausslegendre``), except that the trapezoid's
weights here sum to 1.
"""

import numpy as np


def linspace(steps):
    """FastEstimator's: equal weights at linspace(0, 1, n); off by about (f'(0) + f'(1)) / 2n."""
    return np.linspace(0.0, 1.0, steps), np.full(steps, 1.0 / steps)


def riemann_left(steps):
    return np.arange(steps) / steps, np.full(steps, 1.0 / steps)


def riemann_right(steps):
    return (np.arange(steps) + 1.0) / steps, np.full(steps, 1.0 / steps)


def riemann_middle(steps):
    return (np.arange(steps) + 0.5) / steps, np.full(steps, 1.0 / steps)


def riemann_trapezoid(steps):
    """Half weight on both ends; one step is the baseline's gradient alone, as ``linspace``'s."""
    if steps == 1:
        return linspace(1)
    weights = np.full(steps, 1.0 / (steps - 1))
    weights[[0, -1]] /= 2
    return np.linspace(0.0, 1.0, steps), weights


def gausslegendre(steps):
    """NumPy's Gauss–Legendre nodes and weights on [−1, 1], mapped to [0, 1]: exact for
    polynomials of degree 2n − 1 along the path, so it needs fewer steps than the Riemann
    rules where the model is smooth (piecewise-linear ReLU networks gain less)."""
    nodes, weights = np.polynomial.legendre.leggauss(steps)
    return (nodes + 1.0) / 2.0, weights / 2.0


RULES = {rule.__name__: rule for rule in (linspace, riemann_left, riemann_right, riemann_middle,
                                          riemann_trapezoid, gausslegendre)}


def nodes_and_weights(rule: str, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """(α, weights) of ``rule`` (a name of ``RULES``) with ``steps`` >= 1 nodes."""
    if rule not in RULES:
        raise ValueError(f"rule must be one of {list(RULES)}, got {rule!r}")
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    return RULES[rule](steps)
