"""Distances between two sets of clip features, for the set-level video metrics: the Frechet
distance of FVD and the kernel distance of KVD (numpy and scipy only, so reports that pool
recorded features never need the network)."""

from __future__ import annotations

import warnings

import numpy as np
from scipy import linalg

from benchmark.core.errors import UlvrError


def frechet_distance(a: np.ndarray, b: np.ndarray, eps: float = 1e-6) -> float:
    """Frechet distance between Gaussians fitted to feature sets a (n, d) and b (m, d)."""
    if len(a) < 2 or len(b) < 2:
        raise UlvrError(f"FVD needs at least 2 clips per side, got {len(a)} and {len(b)}")
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    mu_a, mu_b = a.mean(0), b.mean(0)
    if min(len(a), len(b)) <= a.shape[1]:
        return _frechet_low_rank(a - mu_a, b - mu_b, mu_a - mu_b)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    return frechet_from_moments(mu_a, cov_a, mu_b, cov_b, eps)


def _frechet_low_rank(ca: np.ndarray, cb: np.ndarray, diff: np.ndarray) -> float:
    """The same distance from centred features when there are fewer clips than dimensions:
    with A = Ca'Ca/(n-1) and B = Cb'Cb/(m-1), the non-zero eigenvalues of AB are the squared
    singular values of Ca Cb' / sqrt((n-1)(m-1)), so Tr (AB)^(1/2) is that matrix's nuclear
    norm: exact, an n x m SVD instead of a d x d matrix square root."""
    n, m = len(ca), len(cb)
    cross = np.linalg.svd(ca @ cb.T, compute_uv=False).sum() / np.sqrt((n - 1) * (m - 1))
    return float(diff @ diff + (ca * ca).sum() / (n - 1) + (cb * cb).sum() / (m - 1)
                 - 2 * cross)


def frechet_from_moments(mu_a: np.ndarray, cov_a: np.ndarray, mu_b: np.ndarray,
                         cov_b: np.ndarray, eps: float = 1e-6) -> float:
    """||mu_a - mu_b||^2 + Tr(A + B - 2 (A B)^(1/2)), guarded against ill-conditioning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", linalg.LinAlgWarning)  # singular: handled below
        covmean = linalg.sqrtm(cov_a @ cov_b)
        if not np.isfinite(covmean).all():
            offset = np.eye(len(cov_a)) * eps
            covmean = linalg.sqrtm((cov_a + offset) @ (cov_b + offset))
    if np.iscomplexobj(covmean):
        if np.abs(covmean.imag).max() > 1e-3 * max(1.0, np.abs(covmean.real).max()):
            raise UlvrError("FVD: the covariance product has a large imaginary square root "
                            "part; too few or degenerate clips")
        covmean = covmean.real
    diff = mu_a - mu_b
    return float(diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2 * np.trace(covmean))


def kernel_distance(a: np.ndarray, b: np.ndarray) -> float:
    """KVD: unbiased MMD^2 between feature sets a (m, d) and b (n, d) with the cubic polynomial
    kernel k(x, y) = (x.y / d + 1)^3 (the FVD paper's KVD, KID's estimator); meaningful with
    few clips, unlike FVD's covariance."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    m, n = len(a), len(b)
    if m < 2 or n < 2:
        raise UlvrError(f"KVD needs at least 2 clips per side, got {m} and {n}")
    dim = a.shape[1]
    kaa, kbb, kab = ((x @ y.T / dim + 1.0) ** 3 for x, y in ((a, a), (b, b), (a, b)))
    return float((kaa.sum() - np.trace(kaa)) / (m * (m - 1))
                 + (kbb.sum() - np.trace(kbb)) / (n * (n - 1)) - 2.0 * kab.mean())
