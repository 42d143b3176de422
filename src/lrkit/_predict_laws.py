"""Loss-curve laws of a learning-rate schedule (numpy only): the Multi-Power Law and the LR-annealing law,
evaluated from the schedule's exact per-update values.

Notation (updates count from 0; ``eta[k]`` is the LR of update ``k``, divided by the law's ``lr_scale``):

- ``S(n) = eta[0] + ... + eta[n-1]``: the area under the LR curve after ``n`` updates (warmup included);
- ``w``: the warmup end, the first update at the run's highest LR (0 without warmup);
- ``d_j = eta[j-1] - eta[j]`` for ``w < j``: the LR drop before update ``j`` (negative for a rise);
  drops inside the warmup are not counted (both papers leave the warmup out of their decay terms).

Multi-Power Law (Luo et al., ICLR 2025, "A Multi-Power Law for Loss Curve Prediction Across Learning
Rate Schedules", arXiv 2503.12811), the loss after ``n`` updates::

    L(n) = L0 + A * S(n)**-alpha - B * sum_{w<j<n} d_j * G(eta[j]**-gamma * (S(n) - S(j)))
    G(x) = 1 - (C * x + 1)**-beta

LR-annealing law (Tissue et al. 2024, "Scaling Law with Learning Rate Annealing", arXiv 2408.11029)::

    L(n) = L0 + A * S(n)**-alpha - C * S2(n),   S2(n) = sum_{j<n} m_j,   m_j = decay * m_{j-1} + d_j
         = L0 + A * S(n)**-alpha - C * sum_{w<j<n} d_j * (1 - decay**(n - j)) / (1 - decay)

Both are sums over (query, drop) pairs. For ``P`` query points and ``J`` drops the cost is
``O(P * J)``: exact, vectorised in chunks. A curve of ``T`` updates queried at every update would be
``O(T**2)``: queries are a grid of points instead, and for the final loss alone (the optimiser) the
cost is ``O(T)``. Runs with more than ``max_terms`` drops are summarised in blocks: consecutive drops
of one sign, never straddling a query point, merged into one drop at their drop-weighted mean area
(and, for the MPL, the drop-weighted geometric mean LR). That is a midpoint rule over each block;
``tests/test_predict.py`` compares it with the exact sum.
"""
import math

import numpy as np

#: Parameter names of each law, in the order of ``params`` vectors.
PARAMS = {"mpl": ("L0", "A", "alpha", "B", "C", "beta", "gamma"), "lra": ("L0", "A", "alpha", "C")}
#: Drops per run above which they are merged in blocks (see the module docstring).
MAX_TERMS = 4096
#: LR floor (relative to lr_scale) inside eta**-gamma, so that an LR of exactly 0 stays finite.
TINY = 1e-12
_CHUNK = 1 << 19  # (query, drop) pairs per dense chunk


def warmup_end(eta):
    """The first update at the highest LR of ``eta`` (0 if the first one is it)."""
    return int(np.argmax(eta)) if len(eta) else 0


def areas(eta):
    """``S`` with ``S[n] = eta[0] + ... + eta[n-1]``, ``n = 0..len(eta)``."""
    return np.concatenate([[0.0], np.cumsum(eta, dtype=np.float64)])


class Terms:
    """What a law needs of one LR curve queried at ``queries`` (updates done, each <= len(eta)):
    the area at each query and the drops, blocked if there are more than ``max_terms``."""

    def __init__(self, eta, queries, max_terms=MAX_TERMS, warmup=None):
        eta = np.asarray(eta, dtype=np.float64)
        queries = np.asarray(queries, dtype=np.int64)
        if queries.size and (queries.min() < 0 or queries.max() > len(eta)):
            raise ValueError(f"queries must be within 0..{len(eta)}, got {queries.min()}..{queries.max()}")
        self.eta, self.queries = eta, queries
        self.warmup = warmup_end(eta) if warmup is None else int(warmup)
        total = areas(eta)
        self.area = total[queries]
        j = np.arange(self.warmup + 1, len(eta))
        drop = eta[j - 1] - eta[j]
        keep = drop != 0.0
        j, drop = j[keep], drop[keep]
        lr = np.maximum(eta[j], TINY)
        at = total[j]                                 # S(j): the area before update j
        self.exact = len(j) <= max_terms
        if self.exact:
            steps = j.astype(np.float64)
        else:
            j, drop, at, lr, steps = _blocks(j, drop, at, lr, queries, max_terms)
        #: per drop (or block): the update index that decides which queries it reaches, its size, the
        #: area before it, log of the LR after it, and where it acts (a mean index for a block)
        self.index, self.drop, self.at, self.log_lr, self.steps = j, drop, at, np.log(lr), steps
        self._chunks = None

    def chunks(self):
        """Dense blocks ``(rows, D, lag)`` over the queries ``rows``: ``D[i, d]`` the area from drop ``d``
        to query ``rows[i]`` and ``lag[i, d]`` the updates between them, both 0 where the drop comes at
        or after the query (so that it adds nothing). Computed once, kept."""
        if self._chunks is None:
            self._chunks = []
            if self.index.size and self.queries.size:
                per = max(1, _CHUNK // self.index.size)
                for start in range(0, self.queries.size, per):
                    rows = slice(start, min(start + per, self.queries.size))
                    before = self.index[None, :] < self.queries[rows][:, None]
                    area = np.where(before, self.area[rows][:, None] - self.at[None, :], 0.0)
                    lag = np.where(before, self.queries[rows][:, None] - self.steps[None, :], 0.0)
                    self._chunks.append((rows, np.maximum(area, 0.0), lag))
        return self._chunks


def _blocks(j, drop, at, lr, queries, max_terms):
    """Merge consecutive drops of one sign into blocks (about max_terms / 2 regular ones, split at
    every query and at every change of sign); each block acts at its drop-weighted mean."""
    bins = ((j - j[0]) * (max_terms // 2) // (j[-1] - j[0] + 1)).astype(np.int64)
    segment = np.searchsorted(np.unique(queries), j, side="right")   # how many queries are <= j
    key = (bins * (len(queries) + 1) + segment) * 2 + (drop < 0)
    starts = np.flatnonzero(np.concatenate([[True], key[1:] != key[:-1]]))
    ends = np.concatenate([starts[1:], [len(j)]]) - 1
    total = np.add.reduceat(drop, starts)

    def mean(values):
        return np.add.reduceat(drop * values, starts) / total

    return j[ends], total, mean(at), np.exp(mean(np.log(lr))), mean(j.astype(np.float64))


# ---------------------------------------------------------------------------------------------
# Multi-Power Law
# ---------------------------------------------------------------------------------------------
def mpl(params, terms, jacobian=False):
    """The MPL's loss at each query of ``terms`` (and d loss / d params when ``jacobian``: columns
    L0, A, alpha, B, C, beta, gamma)."""
    L0, A, alpha, B, C, beta, gamma = (float(p) for p in params)
    area = np.maximum(terms.area, TINY)
    base = area ** -alpha
    power = A * base
    ld = np.zeros(terms.queries.size)
    if jacobian:
        dC, dbeta, dgamma = np.zeros_like(ld), np.zeros_like(ld), np.zeros_like(ld)
    scale = np.exp(-gamma * terms.log_lr)                    # eta_j**-gamma
    for rows, area_after, _ in terms.chunks():
        x = area_after * scale[None, :]
        cx = C * x
        log_u = np.log1p(cx)
        ld[rows] = -np.expm1(-beta * log_u) @ terms.drop    # G = 1 - (1 + Cx)**-beta
        if jacobian:
            u_beta = np.exp(-beta * log_u)
            slope = u_beta / (1.0 + cx)                      # dG/d(Cx) / beta
            dC[rows] = (slope * x) @ (beta * terms.drop)
            dbeta[rows] = (u_beta * log_u) @ terms.drop
            dgamma[rows] = (slope * cx) @ (-beta * terms.drop * terms.log_lr)
    loss = L0 + power - B * ld
    if not jacobian:
        return loss
    jac = np.stack([np.ones_like(loss), base, -power * np.log(area), -ld,
                    -B * dC, -B * dbeta, -B * dgamma], axis=1)
    return loss, jac


def mpl_final_and_gradient(params, eta, warmup):
    """The MPL's loss after all ``len(eta)`` updates and its gradient with respect to each ``eta[k]``,
    in O(len(eta)) (exact: no blocks)."""
    L0, A, alpha, B, C, beta, gamma = (float(p) for p in params)
    eta = np.asarray(eta, dtype=np.float64)
    n = len(eta)
    total = areas(eta)
    area = max(total[-1], TINY)
    grad = np.full(n, -alpha * A * area ** (-alpha - 1.0))
    j = np.arange(warmup + 1, n)
    if not j.size:
        return L0 + A * area ** -alpha, grad
    drop = eta[j - 1] - eta[j]
    lr = np.maximum(eta[j], TINY)
    scale = lr ** -gamma
    x = scale * (total[-1] - total[j])
    cx = C * x
    u_beta = np.exp(-beta * np.log1p(cx))
    g = 1.0 - u_beta
    g_prime = C * beta * u_beta / (1.0 + cx)               # dG/dx
    loss = L0 + A * area ** -alpha - B * float(np.sum(drop * g))
    # d/d eta[m] of sum_j d_j G(x_j): -G_m + G_{m+1} (the drops), d_m G'(x_m) dx_m/d eta_m (the LR
    # in x), and sum_{j <= m} d_j G'(x_j) eta_j**-gamma (eta[m] inside the later areas)
    dsum = np.zeros(n)
    dsum[j] -= g
    dsum[j - 1] += g
    dsum[j] += drop * g_prime * (-gamma) * x / lr * (eta[j] > TINY)
    inner = np.zeros(n)
    inner[j] = drop * g_prime * scale
    dsum += np.cumsum(inner)
    return loss, grad - B * dsum


# ---------------------------------------------------------------------------------------------
# LR-annealing law
# ---------------------------------------------------------------------------------------------
def _memory(lag, decay):
    """``(1 - decay**lag) / (1 - decay)``: how much of a drop ``lag`` updates old is in S2 (lag for decay 1)."""
    if decay == 1.0:
        return lag.astype(np.float64)
    return -np.expm1(lag * math.log(decay)) / (1.0 - decay)


def lra(params, terms, decay, jacobian=False):
    """The LR-annealing law's loss at each query of ``terms`` (and d loss / d params: columns L0, A, alpha, C)."""
    L0, A, alpha, C = (float(p) for p in params)
    area = np.maximum(terms.area, TINY)
    base = area ** -alpha
    power = A * base
    s2 = np.zeros(terms.queries.size)
    for rows, _, lag in terms.chunks():
        s2[rows] = _memory(lag, decay) @ terms.drop
    loss = L0 + power - C * s2
    if not jacobian:
        return loss
    jac = np.stack([np.ones_like(loss), base, -power * np.log(area), -s2], axis=1)
    return loss, jac


def lra_final_and_gradient(params, eta, warmup, decay):
    """The LR-annealing law's loss after all ``len(eta)`` updates and its gradient in each ``eta[k]``, O(len(eta))."""
    L0, A, alpha, C = (float(p) for p in params)
    eta = np.asarray(eta, dtype=np.float64)
    n = len(eta)
    area = max(float(np.sum(eta)), TINY)
    grad = np.full(n, -alpha * A * area ** (-alpha - 1.0))
    j = np.arange(warmup + 1, n)
    if not j.size:
        return L0 + A * area ** -alpha, grad
    weight = _memory(n - j, decay)
    drop = eta[j - 1] - eta[j]
    loss = L0 + A * area ** -alpha - C * float(np.sum(drop * weight))
    ds2 = np.zeros(n)
    ds2[j] -= weight
    ds2[j - 1] += weight
    return loss, grad - C * ds2
