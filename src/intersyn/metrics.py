"""Text-to-motion metrics on evaluator embeddings: FID, R-Precision, MM Dist, Diversity, MultiModality.

Two named protocols reproduce the field's numbers (REFERENCE.md §3.2 and §3.4):

- ``T2M_PROTOCOL`` (Guo et al. as run by MDM): R-Precision and MM Dist inside batches of 32,
  raw embeddings everywhere.
- ``INTERGEN_PROTOCOL`` (InterGen / FreeMotion): batches of 96, FID on embeddings × 6, Diversity on
  (6a − 6b)/2, i.e. 3 × the raw L2; MM Dist and MultiModality on raw embeddings.

Every figure is reported as mean ± 1.96·std/√R over R replications (population std).
Notation: embeddings are row-aligned, ``text_emb[i]`` describes ``motion_emb[i]``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from tqdm.auto import tqdm

from intersyn._arrays import numeric_array
from intersyn.errors import InterSynError

RngLike = np.random.Generator | int | None

# Below this, the imaginary part of sqrtm's diagonal is numerical noise (MDM/InterGen use 1e-3).
_IMAG_TOL = 1e-3
# Added to both covariance diagonals when sqrtm of the product is not finite (MDM/InterGen).
_COV_EPS = 1e-6


@dataclass(frozen=True)
class MetricProtocol:
    """Constants of one evaluation protocol (REFERENCE.md §3.2 T2M, §3.4 InterGen)."""

    name: Literal["t2m", "intergen"] = "t2m"
    r_precision_batch: int = (
        32  # R-Precision and MM Dist are per-batch: the batch size is part of the metric
    )
    fid_scale: float = 1.0  # InterGen multiplies embeddings by emb_scale = 6 before mean/cov
    diversity_scale: float = 1.0  # InterGen: |6a - 6b| / 2 = 3 |a - b|
    mm_pairs: int = 10  # MultiModality pairs per caption (of 30 generations)
    diversity_pairs: int = 300  # Diversity pairs drawn from all motion embeddings
    replications: int = 20  # each replication regenerates everything
    top_k: int = 3  # R-Precision reported at top-1, top-2, top-3


T2M_PROTOCOL = MetricProtocol(name="t2m", r_precision_batch=32, fid_scale=1.0, diversity_scale=1.0)
INTERGEN_PROTOCOL = MetricProtocol(
    name="intergen", r_precision_batch=96, fid_scale=6.0, diversity_scale=3.0
)
PROTOCOLS: dict[str, MetricProtocol] = {"t2m": T2M_PROTOCOL, "intergen": INTERGEN_PROTOCOL}


# ---------------------------------------------------------------------------------------------
# Validation


def _as_array(value: Any, name: str, ndim: int) -> np.ndarray:
    """Return `value` as a finite float64 array with `ndim` dimensions or raise InterSynError."""
    shape_text = {1: "(D,)", 2: "(N, D)", 3: "(N, R, D)"}.get(ndim, f"{ndim}-D")
    array = numeric_array(value, name, shape_text)
    if array.ndim != ndim:
        raise InterSynError(f"{name}: expected shape {shape_text}, got shape {array.shape}")
    if array.size == 0:
        raise InterSynError(
            f"{name}: expected a non-empty array {shape_text}, got shape {array.shape}"
        )
    if not np.isfinite(array).all():
        bad = int((~np.isfinite(array)).sum())
        raise InterSynError(f"{name}: contains {bad} NaN/inf value(s); expected finite embeddings")
    return array


def _check_pair(text_emb: Any, motion_emb: Any) -> tuple[np.ndarray, np.ndarray]:
    text = _as_array(text_emb, "text_emb", 2)
    motion = _as_array(motion_emb, "motion_emb", 2)
    if text.shape != motion.shape:
        raise InterSynError(
            f"motion_emb: expected the same shape as text_emb {text.shape} (row-aligned pairs), "
            f"got {motion.shape}"
        )
    return text, motion


def _check_positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InterSynError(f"{name}: expected a positive integer, got {value!r}")
    return int(value)


def _check_scale(value: Any, name: str) -> float:
    if (
        not isinstance(value, (int, float, np.floating, np.integer))
        or not np.isfinite(value)
        or value <= 0
    ):
        raise InterSynError(f"{name}: expected a finite positive number, got {value!r}")
    return float(value)


def _rng(rng: RngLike) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer)):
        return np.random.default_rng(rng)
    raise InterSynError(
        f"rng: expected a numpy Generator, an int seed or None, got {type(rng).__name__}"
    )


# ---------------------------------------------------------------------------------------------
# FID


def frechet_distance(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray
) -> float:
    """Fréchet distance |μ1 − μ2|² + tr(Σ1 + Σ2 − 2(Σ1Σ2)^½) between two Gaussians, μ `(D,)`, Σ `(D, D)`."""
    m1, m2 = _as_array(mu1, "mu1", 1), _as_array(mu2, "mu2", 1)
    s1, s2 = _as_array(sigma1, "sigma1", 2), _as_array(sigma2, "sigma2", 2)
    dim = m1.shape[0]
    for name, arr, want in (
        ("mu2", m2, (dim,)),
        ("sigma1", s1, (dim, dim)),
        ("sigma2", s2, (dim, dim)),
    ):
        if arr.shape != want:
            raise InterSynError(f"{name}: expected shape {want} to match mu1, got {arr.shape}")
    from scipy import linalg  # here: importing scipy costs generation's start-up 0.2 s

    diff = m1 - m2
    covmean = linalg.sqrtm(s1 @ s2)
    if not np.isfinite(covmean).all():
        # Singular product: regularise both covariances as the reference implementations do.
        offset = np.eye(dim) * _COV_EPS
        covmean = linalg.sqrtm((s1 + offset) @ (s2 + offset))
    if np.iscomplexobj(covmean):
        imag = np.max(np.abs(np.diagonal(covmean).imag))
        if imag > _IMAG_TOL:
            raise InterSynError(
                f"sigma1, sigma2: sqrt of their product has an imaginary diagonal component {imag:.3g}; "
                f"expected < {_IMAG_TOL} (covariances not positive semi-definite?)"
            )
        covmean = covmean.real
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(covmean))


def gaussian_statistics(
    emb: np.ndarray, *, scale: float = 1.0, name: str = "emb"
) -> tuple[np.ndarray, np.ndarray]:
    """Mean `(D,)` and unbiased covariance `(D, D)` of `scale`·emb `(N, D)`, rows = samples."""
    array = _as_array(emb, name, 2)
    if array.shape[0] < 2:
        raise InterSynError(
            f"{name}: expected at least 2 samples for a covariance, got {array.shape[0]}"
        )
    array = array * _check_scale(scale, "scale")
    return array.mean(axis=0), np.cov(array, rowvar=False)


def fid(real_emb: np.ndarray, gen_emb: np.ndarray, *, scale: float = 1.0) -> float:
    """Fréchet Inception-style distance between motion embeddings `(N, D)` and `(M, D)` (T2M: scale 1, InterGen: 6)."""
    real = _as_array(real_emb, "real_emb", 2)
    gen = _as_array(gen_emb, "gen_emb", 2)
    if real.shape[1] != gen.shape[1]:
        raise InterSynError(
            f"gen_emb: expected embedding size {real.shape[1]} like real_emb, got shape {gen.shape}"
        )
    mu1, sigma1 = gaussian_statistics(real, scale=scale, name="real_emb")
    mu2, sigma2 = gaussian_statistics(gen, scale=scale, name="gen_emb")
    return frechet_distance(mu1, sigma1, mu2, sigma2)


# ---------------------------------------------------------------------------------------------
# Batched text-motion matching


def _batched(
    text: np.ndarray, motion: np.ndarray, batch_size: int, drop_last: bool
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Split row-aligned pairs into consecutive batches `[(B, D), (B, D)]`, as a drop_last loader does."""
    n = text.shape[0]
    if n < batch_size and drop_last:
        raise InterSynError(
            f"text_emb: expected at least batch_size={batch_size} samples (drop_last keeps only full "
            f"batches), got {n}"
        )
    full = (n // batch_size) * batch_size
    shape = (n // batch_size, batch_size, text.shape[1])
    batches = [(text[:full].reshape(shape), motion[:full].reshape(shape))] if full else []
    if not drop_last and full < n:
        batches.append((text[None, full:], motion[None, full:]))
    return batches


def _distance_matrices(text: np.ndarray, motion: np.ndarray) -> np.ndarray:
    """Euclidean distances `(nb, B, B)` between each batch's texts (rows) and motions (columns)."""
    sq = (
        np.sum(text**2, axis=-1)[..., :, None]
        + np.sum(motion**2, axis=-1)[..., None, :]
        - 2.0 * text @ np.swapaxes(motion, -1, -2)
    )
    return np.sqrt(np.maximum(sq, 0.0))  # clip the tiny negatives of the expanded form


def r_precision(
    text_emb: np.ndarray,
    motion_emb: np.ndarray,
    top_k: int = 3,
    batch_size: int = 32,
    *,
    drop_last: bool = True,
) -> np.ndarray:
    """Cumulative top-1…top-k retrieval rates `(top_k,)` of each text's own motion within batches of `batch_size`.

    For text i of a batch, its motions are ranked by Euclidean distance; hit@k when motion i is among
    the k nearest. Ties are ranked by index, as a stable argsort would. Hits are summed over batches
    and divided by the number of samples used (drop_last ignores the incomplete tail).
    """
    text, motion = _check_pair(text_emb, motion_emb)
    top_k = _check_positive_int(top_k, "top_k")
    batch_size = _check_positive_int(batch_size, "batch_size")
    hits = np.zeros(top_k)
    used = 0
    for t, m in _batched(text, motion, batch_size, drop_last):
        dist = _distance_matrices(t, m)  # (nb, B, B)
        own = np.diagonal(dist, axis1=-2, axis2=-1)[..., :, None]  # (nb, B, 1)
        index = np.arange(dist.shape[-1])
        before = index[None, :] < index[:, None]  # j precedes i in a stable sort on ties
        rank = np.sum((dist < own) | ((dist == own) & before), axis=-1)  # (nb, B)
        hits += np.sum(rank[..., None] < np.arange(1, top_k + 1), axis=(0, 1))
        used += rank.size
    return hits / used


def mm_dist(text_emb: np.ndarray, motion_emb: np.ndarray, batch_size: int = 32) -> float:
    """Mean Euclidean distance of each text to its own motion over the full batches (T2M "matching score")."""
    text, motion = _check_pair(text_emb, motion_emb)
    batch_size = _check_positive_int(batch_size, "batch_size")
    (t, m), *_ = _batched(text, motion, batch_size, drop_last=True)
    return float(np.mean(np.linalg.norm(t - m, axis=-1)))


# ---------------------------------------------------------------------------------------------
# Diversity and MultiModality


def diversity(
    emb: np.ndarray, pairs: int = 300, *, rng: RngLike = None, scale: float = 1.0
) -> float:
    """Mean `scale`·L2 distance over `pairs` random pairs of motion embeddings `(N, D)` (InterGen: scale 3).

    Two index sets of size `pairs` are drawn, each without replacement, first then second, from `rng`.
    """
    array = _as_array(emb, "emb", 2)
    pairs = _check_positive_int(pairs, "pairs")
    scale = _check_scale(scale, "scale")
    if array.shape[0] < pairs:
        raise InterSynError(
            f"emb: expected at least pairs={pairs} samples (indices are drawn without replacement), "
            f"got {array.shape[0]}"
        )
    gen = _rng(rng)
    first = gen.choice(array.shape[0], pairs, replace=False)
    second = gen.choice(array.shape[0], pairs, replace=False)
    return float(scale * np.mean(np.linalg.norm(array[first] - array[second], axis=-1)))


def multimodality(emb_per_text: np.ndarray, pairs: int = 10, *, rng: RngLike = None) -> float:
    """Mean L2 distance between generations of the same text, `(N, R, D)` with R generations per text.

    As in the reference code, one pair of index sets (each `pairs` of R, without replacement) is
    drawn from `rng` and shared by all N texts.
    """
    array = _as_array(emb_per_text, "emb_per_text", 3)
    pairs = _check_positive_int(pairs, "pairs")
    repeats = array.shape[1]
    if repeats < pairs:
        raise InterSynError(
            f"emb_per_text: expected at least pairs={pairs} generations per text on axis 1, "
            f"got shape {array.shape}"
        )
    gen = _rng(rng)
    first = gen.choice(repeats, pairs, replace=False)
    second = gen.choice(repeats, pairs, replace=False)
    return float(np.mean(np.linalg.norm(array[:, first] - array[:, second], axis=-1)))


# ---------------------------------------------------------------------------------------------
# Protocol-level helpers


def mean_ci(values: Sequence[float]) -> tuple[float, float]:
    """Mean and 95% half-width 1.96·std/√R (population std, ddof 0) of R replicated values."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or array.size == 0:
        raise InterSynError(f"values: expected a non-empty 1-D sequence, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise InterSynError(f"values: expected finite numbers, got {array.tolist()}")
    return float(array.mean()), float(1.96 * array.std() / np.sqrt(array.size))


def evaluate_embeddings(
    text_emb: np.ndarray,
    motion_emb: np.ndarray,
    *,
    real_motion_emb: np.ndarray | None = None,
    mm_emb: np.ndarray | None = None,
    protocol: MetricProtocol = T2M_PROTOCOL,
    rng: RngLike = None,
    shuffle: bool = True,
) -> dict[str, float]:
    """All metrics of one replication under `protocol` for row-aligned `(N, D)` text/motion embeddings.

    Returns ``r_precision_top1..k``, ``mm_dist`` and ``diversity`` always, ``fid`` when
    `real_motion_emb` `(M, D)` is given (FID of `motion_emb` against it) and ``multimodality`` when
    `mm_emb` `(N', R, D)` is given. With `shuffle`, pairs are permuted by `rng` before batching, as the
    reference's shuffled loaders do; FID and Diversity do not depend on the order.
    """
    text, motion = _check_pair(text_emb, motion_emb)
    gen = _rng(rng)
    if shuffle:
        order = gen.permutation(text.shape[0])
        text, motion = text[order], motion[order]
    r_prec = r_precision(text, motion, protocol.top_k, protocol.r_precision_batch)
    out = {f"r_precision_top{k + 1}": float(v) for k, v in enumerate(r_prec)}
    out["mm_dist"] = mm_dist(text, motion, protocol.r_precision_batch)
    if real_motion_emb is not None:
        out["fid"] = fid(real_motion_emb, motion, scale=protocol.fid_scale)
    out["diversity"] = diversity(
        motion, protocol.diversity_pairs, rng=gen, scale=protocol.diversity_scale
    )
    if mm_emb is not None:
        out["multimodality"] = multimodality(mm_emb, protocol.mm_pairs, rng=gen)
    return out


def replicate(
    fn: Callable[[np.random.Generator], dict[str, float]],
    replications: int = 20,
    seed: int = 0,
    progress: bool = True,
) -> dict[str, tuple[float, float]]:
    """Run `fn(rng)` once per replication with independent seeded generators; mean ± 95% CI per metric."""
    replications = _check_positive_int(replications, "replications")
    children = np.random.SeedSequence(seed).spawn(replications)
    runs: list[dict[str, float]] = []
    for child in tqdm(children, desc="replications", disable=not progress):
        result = fn(np.random.default_rng(child))
        if runs and set(result) != set(runs[0]):
            raise InterSynError(
                f"fn: replication {len(runs)} returned metrics {sorted(result)}; expected the same "
                f"keys as replication 0 {sorted(runs[0])}"
            )
        runs.append(result)
    return {key: mean_ci([run[key] for run in runs]) for key in runs[0]}
