"""The naive CKA methods the engine is measured against, and how their cost is extrapolated.

(a) per pair, both Grams recomputed, explicit centring matrix H (the blog's method);
(b) per pair, the squared Frobenius norm of the p_x x p_y cross-covariance (the thesis' method).
Each is timed on a sample of pairs and its cost extrapolated, with a cost model fitted to the
sample, to exactly the pairs the workflow computes (every pair within each HSIC block).
"""

from __future__ import annotations

import time

import numpy as np


def blog_cka(x: np.ndarray, y: np.ndarray) -> float:
    """(a) Per pair: both Grams recomputed in every HSIC, explicit centring matrix H."""

    def centring(k):
        n = k.shape[0]
        h = np.eye(n) - np.ones((n, n)) / n
        return h @ k @ h

    def hsic(a, b):
        return np.sum(centring(a @ a.T) * centring(b @ b.T))

    return hsic(x, y) / np.sqrt(hsic(x, x) * hsic(y, y))


def thesis_cka(x: np.ndarray, y: np.ndarray, block: int = 4096) -> float:
    """(b) Per pair: ||Xc'Yc||_F^2 over the p_x x p_y cross-covariance (row blocks bound memory)."""

    def sq_cross(a, b):
        return sum(
            float(np.sum((a[:, r : r + block].T @ b) ** 2)) for r in range(0, a.shape[1], block)
        )

    xc, yc = x - x.mean(axis=0), y - y.mean(axis=0)
    return sq_cross(xc, yc) / np.sqrt(sq_cross(xc, xc) * sq_cross(yc, yc))


def reference_cka(x: np.ndarray, y: np.ndarray) -> float:
    """The slow float64 reference (explicit H, trace form) for the accuracy row."""
    x, y = x.astype(np.float64), y.astype(np.float64)
    n = len(x)
    h = np.eye(n) - np.ones((n, n)) / n
    k, l = x @ x.T, y @ y.T

    def hsic(a, b):
        return np.trace(a @ h @ b @ h)

    return hsic(k, l) / np.sqrt(hsic(k, k) * hsic(l, l))


def sample_pairs(blocks: dict[str, list], per_block: int, rng, max_cross: float) -> dict:
    """``per_block`` pairs of groups from within each block, for (a); for (b) only pairs whose
    cross-covariance has at most ``max_cross`` entries (it is p_x x p_y)."""
    pairs = {"a": [], "b": []}
    for groups in blocks.values():
        for _ in range(per_block):
            pairs["a"].append(
                (groups[rng.integers(len(groups))], groups[rng.integers(len(groups))])
            )
        small = [g for g in groups if g[1] ** 2 <= max_cross]
        for _ in range(per_block if small else 0):
            i, j = rng.integers(len(small), size=2)
            pairs["b"].append((small[i], small[j]))
    return pairs


def time_pairs(method, pairs, data) -> np.ndarray:
    """(p_x, p_y, seconds) of ``method`` on each pair; ``data(group)`` gives its (n, p) array."""
    out = []
    for ga, gb in pairs:
        x, y = data(ga), data(gb)
        t0 = time.perf_counter()
        method(x, y)
        out.append((ga[1], gb[1], time.perf_counter() - t0))
    return np.array(out)


def extrapolate(samples: np.ndarray, feature, blocks: dict[str, list]) -> tuple[float, float]:
    """Fit t = c0 + c1 * feature(px, py) on the sample; sum over every unique pair within each
    block. Returns (seconds, pairs)."""
    f = feature(samples[:, 0], samples[:, 1])
    design = np.stack([np.ones_like(f), f], axis=1)
    (c0, c1), *_ = np.linalg.lstsq(design, samples[:, 2], rcond=None)
    c0, c1 = max(c0, 0.0), max(c1, 0.0)
    total, n_pairs = 0.0, 0.0
    for groups in blocks.values():
        p = np.array([units for _, units in groups], dtype=np.float64)
        pairs = len(p) * (len(p) + 1) / 2
        if feature is SUM:  # sum over i <= j of (p_i + p_j) = (g + 1) * sum(p)
            total_f = (len(p) + 1) * p.sum()
        else:  # sum over i <= j of p_i p_j = ((sum p)^2 + sum p^2) / 2
            total_f = (p.sum() ** 2 + (p**2).sum()) / 2
        total += c0 * pairs + c1 * total_f
        n_pairs += pairs
    return total, n_pairs


def SUM(px, py):
    return px + py


def PRODUCT(px, py):
    return px * py
