"""The Gap Score: a two-dimensional item response model of understanding and generation.

Every bidirectional instance is two *items*: its understanding question (answered under the
``understand`` condition) and its drawing (under a generation condition, ``direct`` by
default). Each model ``m`` has two abilities, ``theta[m, 0]`` (understanding) and
``theta[m, 1]`` (generation). Each item ``j`` loads on one of them (a between-item model), with a
discrimination ``a_j > 0`` and a difficulty ``b_j``::

    P(model m gets item j right) = sigmoid(a_j * (theta[m, dim_j] - b_j))

With few models (the usual case: one to a handful), item parameters are not identified by the
data alone, so the fit is a MAP estimate under weakly informative priors: ``theta ~ N(0, 1)``
per ability, ``log a_j ~ N(0, 0.5^2)``, ``b_j ~ N(0, 1.5^2)``. The priors fix the scale and
origin; the **gap** ``theta[m, 0] - theta[m, 1]`` is comparable across models fitted together.
Its 95% interval comes from the Laplace approximation (the inverse Hessian of the negative log
posterior at the MAP). Several seeds of one item are binomial counts of the same item.

Parameter recovery on simulated data is tested in ``tests/test_irt.py`` and measured by
``benchmarks/gap.py --simulate``. No kept PyPI library fits this setting (the ``mirt`` package
and ``girth`` estimate item parameters by marginal likelihood over many respondents; here there
are many items and few respondents), so this is a small numpy/scipy implementation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

PRIOR_THETA = 1.0
PRIOR_LOG_A = 0.5
PRIOR_B = 1.5
Z95 = 1.959964
DIMENSIONS = ("understanding", "generation")


@dataclass(frozen=True)
class Response:
    """``correct`` of ``total`` attempts of one model at one item (one ability dimension)."""

    model: str
    item: str
    dim: int  # 0 = understanding, 1 = generation
    correct: int
    total: int


@dataclass(frozen=True)
class GapScore:
    """One model's two abilities and their gap, with the plain accuracy gap beside it."""

    model: str
    understanding: float
    generation: float
    gap: float
    gap_ci: tuple[float, float]
    se: tuple[float, float]
    accuracy_understanding: float | None
    accuracy_generation: float | None
    items: tuple[int, int]  # items answered in each direction

    @property
    def accuracy_gap(self) -> float | None:
        """Understanding accuracy minus generation accuracy."""
        if self.accuracy_understanding is None or self.accuracy_generation is None:
            return None
        return self.accuracy_understanding - self.accuracy_generation

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "model": self.model,
            "theta_understanding": self.understanding,
            "theta_generation": self.generation,
            "gap": self.gap,
            "gap_ci95": list(self.gap_ci),
            "se": list(self.se),
            "accuracy_understanding": self.accuracy_understanding,
            "accuracy_generation": self.accuracy_generation,
            "accuracy_gap": self.accuracy_gap,
            "items": list(self.items),
        }


@dataclass
class Fit:
    """The fitted model: abilities, item parameters, and each model's gap."""

    models: list[str]
    items: list[str]
    dims: NDArray[np.int64]
    theta: NDArray[np.float64]  # (models, 2)
    a: NDArray[np.float64]
    b: NDArray[np.float64]
    cov_theta: NDArray[np.float64]  # (models, 2, 2)
    converged: bool
    scores: list[GapScore] = field(default_factory=list)


def _unpack(
    x: NDArray[np.float64], m: int, j: int
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    theta = x[: 2 * m].reshape(m, 2)
    log_a = x[2 * m : 2 * m + j]
    b = x[2 * m + j :]
    return theta, log_a, b


class _Objective:
    """Negative log posterior and its gradient over (theta, log a, b)."""

    def __init__(
        self,
        mi: NDArray[np.int64],
        ji: NDArray[np.int64],
        dims: NDArray[np.int64],
        k: NDArray[np.float64],
        n: NDArray[np.float64],
        m: int,
        j: int,
    ):
        self.mi, self.ji, self.dims, self.k, self.n, self.m, self.j = mi, ji, dims, k, n, m, j
        self.d = dims[ji]

    def __call__(self, x: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        theta, log_a, b = _unpack(x, self.m, self.j)
        a = np.exp(log_a)
        diff = theta[self.mi, self.d] - b[self.ji]
        eta = a[self.ji] * diff
        # log-likelihood of binomial counts: k*eta - n*log(1 + e^eta)
        ll = float(np.sum(self.k * eta - self.n * np.logaddexp(0.0, eta)))
        resid = self.k - self.n / (1.0 + np.exp(-eta))  # d ll / d eta
        g_theta = np.zeros_like(theta)
        np.add.at(g_theta, (self.mi, self.d), resid * a[self.ji])
        g_log_a = np.bincount(self.ji, resid * eta, minlength=self.j)
        g_b = -np.bincount(self.ji, resid * a[self.ji], minlength=self.j)
        prior = (
            np.sum(theta**2) / PRIOR_THETA**2
            + np.sum(log_a**2) / PRIOR_LOG_A**2
            + np.sum(b**2) / PRIOR_B**2
        ) / 2
        grad = np.concatenate(
            [
                (g_theta - theta / PRIOR_THETA**2).ravel(),
                g_log_a - log_a / PRIOR_LOG_A**2,
                g_b - b / PRIOR_B**2,
            ]
        )
        return prior - ll, -grad


def _hessian(fun: _Objective, x: NDArray[np.float64]) -> NDArray[np.float64]:
    """Exact Hessian of the negative log posterior at ``x``.

    Per response, with ``eta = a (theta - b)`` and ``w = n p (1 - p)``, the log-likelihood's
    second derivatives are ``-w g g^T + (k - n p) d2eta``, where ``g`` is the gradient of
    ``eta`` in (theta, log a, b) = (a, eta, -a) and ``d2eta`` is non-zero only for
    (theta, log a) = a, (log a, log a) = eta and (log a, b) = -a.
    """
    m, j = fun.m, fun.j
    theta, log_a, b = _unpack(x, m, j)
    a = np.exp(log_a)[fun.ji]
    eta = a * (theta[fun.mi, fun.d] - b[fun.ji])
    p = 1.0 / (1.0 + np.exp(-eta))
    w = fun.n * p * (1 - p)
    resid = fun.k - fun.n * p
    idx = np.stack([2 * fun.mi + fun.d, 2 * m + fun.ji, 2 * m + j + fun.ji], axis=1)
    g = np.stack([a, eta, -a], axis=1)
    second = np.zeros((len(eta), 3, 3))
    second[:, 0, 1] = second[:, 1, 0] = a
    second[:, 1, 1] = eta
    second[:, 1, 2] = second[:, 2, 1] = -a
    blocks = w[:, None, None] * g[:, :, None] * g[:, None, :] - resid[:, None, None] * second
    size = len(x)
    flat_h = np.zeros(size * size)
    flat = (idx[:, :, None] * size + idx[:, None, :]).ravel()
    np.add.at(flat_h, flat, blocks.ravel())
    h = flat_h.reshape(size, size)
    prior = np.concatenate(
        [
            np.full(2 * m, 1 / PRIOR_THETA**2),
            np.full(j, 1 / PRIOR_LOG_A**2),
            np.full(j, 1 / PRIOR_B**2),
        ]
    )
    h[np.diag_indices(size)] += prior
    return h


def fit(responses: Iterable[Response]) -> Fit:
    """Fit the two-dimensional 2PL model by MAP and score every model's gap.

    Args:
        responses: per (model, item) counts; an item must keep one dimension.

    Raises:
        ValueError: no responses, or an item given both dimensions.
    """
    from scipy.optimize import minimize

    rows = [r for r in responses if r.total > 0]
    if not rows:
        raise ValueError("no responses to fit")
    models = sorted({r.model for r in rows})
    items = sorted({r.item for r in rows})
    m_index = {name: i for i, name in enumerate(models)}
    j_index = {name: i for i, name in enumerate(items)}
    dims = np.full(len(items), -1, dtype=np.int64)
    for r in rows:
        j = j_index[r.item]
        if dims[j] not in (-1, r.dim):
            raise ValueError(f"item {r.item!r} is given both dimensions")
        dims[j] = r.dim
    mi = np.array([m_index[r.model] for r in rows], dtype=np.int64)
    ji = np.array([j_index[r.item] for r in rows], dtype=np.int64)
    k = np.array([r.correct for r in rows], dtype=np.float64)
    n = np.array([r.total for r in rows], dtype=np.float64)
    m, j = len(models), len(items)
    objective = _Objective(mi, ji, dims, k, n, m, j)
    x0 = np.zeros(2 * m + 2 * j)
    result = minimize(objective, x0, jac=True, method="L-BFGS-B", options={"maxiter": 2000})
    x = result.x
    hess = _hessian(objective, x)
    try:
        cov = np.linalg.inv(hess)
    except np.linalg.LinAlgError:
        cov = np.linalg.pinv(hess)
    theta, log_a, b = _unpack(x, m, j)
    cov_theta = np.array([cov[2 * i : 2 * i + 2, 2 * i : 2 * i + 2] for i in range(m)])
    out = Fit(
        models, items, dims, theta.copy(), np.exp(log_a), b.copy(), cov_theta, bool(result.success)
    )
    for i, name in enumerate(models):
        c = cov_theta[i]
        var_gap = max(float(c[0, 0] + c[1, 1] - 2 * c[0, 1]), 0.0)
        gap = float(theta[i, 0] - theta[i, 1])
        half = Z95 * var_gap**0.5
        acc: list[float | None] = []
        counts: list[int] = []
        for dim in (0, 1):
            sel = (mi == i) & (dims[ji] == dim)
            acc.append(float(k[sel].sum() / n[sel].sum()) if sel.any() else None)
            counts.append(len(set(ji[sel].tolist())))
        out.scores.append(
            GapScore(
                name,
                float(theta[i, 0]),
                float(theta[i, 1]),
                gap,
                (gap - half, gap + half),
                (float(max(c[0, 0], 0.0) ** 0.5), float(max(c[1, 1], 0.0) ** 0.5)),
                acc[0],
                acc[1],
                (counts[0], counts[1]),
            )
        )
    return out


def simulate(
    n_models: int,
    n_items: int,
    seed: int,
    *,
    gaps: NDArray[np.float64] | None = None,
) -> tuple[list[Response], NDArray[np.float64]]:
    """Responses drawn from the model itself, for recovery tests.

    Args:
        n_models: models (respondents).
        n_items: items per dimension.
        seed: random seed.
        gaps: optional true understanding - generation gap per model (added to a shared
            ability); default: abilities drawn independently from N(0, 1).

    Returns:
        The responses (one attempt per model and item) and the true abilities (models, 2).
    """
    rng = np.random.default_rng(seed)
    if gaps is None:
        theta = rng.normal(0.0, 1.0, (n_models, 2))
    else:
        base = rng.normal(0.0, 0.5, n_models)
        theta = np.stack([base + gaps / 2, base - gaps / 2], axis=1)
    a = np.exp(rng.normal(0.0, 0.3, 2 * n_items))
    b = rng.normal(0.0, 1.0, 2 * n_items)
    rows = []
    for mdl in range(n_models):
        for item in range(2 * n_items):
            dim = item % 2
            p = 1.0 / (1.0 + np.exp(-a[item] * (theta[mdl, dim] - b[item])))
            rows.append(Response(f"m{mdl}", f"i{item}", dim, int(rng.random() < p), 1))
    return rows, theta


def format_scores(scores: list[GapScore], condition: str) -> list[str]:
    """Terminal lines of a Gap Score table."""
    lines = [
        f"gap score (2D 2PL, MAP; understand vs {condition}): abilities, gap [95% interval], "
        "accuracy gap"
    ]
    for s in scores:
        acc = (
            f"{100 * s.accuracy_understanding:.1f}% - {100 * s.accuracy_generation:.1f}% = "
            f"{100 * s.accuracy_gap:+.1f} pts"
            if s.accuracy_gap is not None
            and s.accuracy_understanding is not None
            and s.accuracy_generation is not None
            else "-"
        )
        lines.append(
            f"  {s.model}: theta_u {s.understanding:+.2f}, theta_g {s.generation:+.2f}, "
            f"gap {s.gap:+.2f} [{s.gap_ci[0]:+.2f}, {s.gap_ci[1]:+.2f}]; accuracy {acc} "
            f"({s.items[0]}+{s.items[1]} items)"
        )
    return lines
