"""Known-answer tests for the text-to-motion metrics (REFERENCE.md §3.2, §3.4)."""

from __future__ import annotations

import numpy as np
import pytest

from intersyn.errors import InterSynError
from intersyn.metrics import (
    INTERGEN_PROTOCOL,
    T2M_PROTOCOL,
    diversity,
    evaluate_embeddings,
    fid,
    frechet_distance,
    mean_ci,
    mm_dist,
    multimodality,
    r_precision,
    replicate,
)

SIGMA2 = np.array([[2.0, 0.6, 0.0], [0.6, 1.0, 0.3], [0.0, 0.3, 0.5]])
MU2 = np.array([1.0, -0.5, 0.2])


def _closed_form(mu1, s1, mu2, s2) -> float:
    """FID via the eigenvalues of Σ1Σ2 (real, non-negative for SPD inputs): an independent route."""
    trace_sqrt = np.sqrt(np.linalg.eigvals(s1 @ s2).real.clip(min=0)).sum()
    return float((mu1 - mu2) @ (mu1 - mu2) + np.trace(s1) + np.trace(s2) - 2 * trace_sqrt)


def _with_exact_moments(rng, n, mu, sigma) -> np.ndarray:
    """n samples whose sample mean is mu and unbiased sample covariance is sigma exactly."""
    z = rng.standard_normal((n, len(mu)))
    z -= z.mean(axis=0)
    z = z @ np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False))).T  # whitened: cov = I
    return z @ np.linalg.cholesky(sigma).T + mu


# ----------------------------------------------------------------------------------------- FID


def test_frechet_distance_population_formula():
    # Commuting (diagonal) covariances: tr term = Σ (√a − √b)².
    mu1, mu2 = np.array([0.0, 1.0]), np.array([3.0, -3.0])
    a, b = np.array([4.0, 1.0]), np.array([1.0, 9.0])
    expected = 25.0 + (2 - 1) ** 2 + (1 - 3) ** 2
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, abs=1e-10)
    # Non-commuting covariances against the eigenvalue route.
    s1 = np.array([[1.0, 0.4, 0.1], [0.4, 0.8, 0.0], [0.1, 0.0, 1.5]])
    got = frechet_distance(np.zeros(3), s1, MU2, SIGMA2)
    assert got == pytest.approx(_closed_form(np.zeros(3), s1, MU2, SIGMA2), abs=1e-10)
    # One dimension: (μ1 − μ2)² + (σ1 − σ2)².
    one_d = frechet_distance(
        np.array([1.0]), np.array([[4.0]]), np.array([-1.0]), np.array([[0.25]])
    )
    assert one_d == pytest.approx(4.0 + 1.5**2, abs=1e-12)


def test_fid_equals_population_formula_for_exact_sample_moments():
    # Samples built to have exactly the given mean and UNBIASED covariance: catches ddof=0.
    rng = np.random.default_rng(0)
    s1 = np.array([[1.0, 0.4, 0.1], [0.4, 0.8, 0.0], [0.1, 0.0, 1.5]])
    x = _with_exact_moments(rng, 10, np.zeros(3), s1)
    y = _with_exact_moments(rng, 12, MU2, SIGMA2)
    assert fid(x, y) == pytest.approx(_closed_form(np.zeros(3), s1, MU2, SIGMA2), abs=1e-9)


def test_fid_large_sample_matches_closed_form():
    # N(0, I) vs N(MU2, SIGMA2), 20,000 samples each. The estimator's bias is
    # tr(Σ1 + Σ2)/N ≈ 3e-4 from the mean term and smaller from the trace term; its standard deviation,
    # measured over 100 seeds, is 0.025 (delta method for the mean term: 2·sqrt(Δμᵀ(Σ1+Σ2)Δμ/N) ≈ 0.025).
    # The tolerance 0.13 is ~5 standard deviations.
    rng = np.random.default_rng(1)
    x = rng.standard_normal((20000, 3))
    y = rng.multivariate_normal(MU2, SIGMA2, 20000)
    expected = _closed_form(np.zeros(3), np.eye(3), MU2, SIGMA2)  # 1.7520
    assert fid(x, y) == pytest.approx(expected, abs=0.13)


def test_fid_of_identical_sets_is_zero_and_scales_quadratically():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((500, 8))
    y = rng.standard_normal((400, 8)) * 1.3 + 0.2
    assert abs(fid(x, x)) < 1e-8
    assert abs(fid(x[:3, :5], x[:3, :5])) < 1e-6  # rank-deficient covariance still ~0
    assert fid(x, y, scale=6.0) == pytest.approx(36.0 * fid(x, y), rel=1e-9)
    assert fid(x, y) > 0.1


def test_fid_errors():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((20, 4))
    with pytest.raises(InterSynError, match="gen_emb"):
        fid(x, rng.standard_normal((20, 5)))
    bad = x.copy()
    bad[3, 1] = np.nan
    with pytest.raises(InterSynError, match="real_emb.*NaN"):
        fid(bad, x)
    with pytest.raises(InterSynError, match="at least 2 samples"):
        fid(x, x[:1])
    with pytest.raises(InterSynError, match="imaginary"):
        frechet_distance(np.zeros(2), np.diag([1.0, -4.0]), np.zeros(2), np.eye(2))


# ---------------------------------------------------------------------------------- R-precision


def test_r_precision_perfect_match_is_one():
    emb = np.random.default_rng(4).standard_normal((96, 16))
    np.testing.assert_allclose(r_precision(emb, emb.copy()), [1.0, 1.0, 1.0])


def test_r_precision_hand_computed():
    # 1-D: text i vs motions. Text 0 ranks its motion 1st, text 1 3rd, text 2 2nd.
    text = np.array([[0.0], [1.0], [2.0]])
    motion = np.array([[0.1], [2.2], [0.9]])
    np.testing.assert_allclose(
        r_precision(text, motion, top_k=3, batch_size=3), [1 / 3, 2 / 3, 1.0]
    )
    # Ties rank by index (stable sort): identical motions, text 1 loses to motion 0.
    same = np.zeros((2, 1))
    np.testing.assert_allclose(r_precision(same, same, top_k=2, batch_size=2), [0.5, 1.0])


def test_r_precision_of_random_embeddings_is_chance():
    rng = np.random.default_rng(5)
    n = 32 * 400
    result = r_precision(rng.standard_normal((n, 16)), rng.standard_normal((n, 16)))
    for k, value in enumerate(result, start=1):
        p = k / 32
        assert abs(value - p) < 5 * np.sqrt(p * (1 - p) / n), (k, value)


def test_r_precision_batch_96_vs_32():
    rng = np.random.default_rng(6)
    n = 96 * 60
    text = rng.standard_normal((n, 16))
    motion = (
        text + rng.standard_normal((n, 16)) * 0.9
    )  # partly matched: retrieval gets harder with more candidates
    r32 = r_precision(text, motion, batch_size=32)
    r96 = r_precision(text, motion, batch_size=96)
    assert np.all(r96 < r32 - 0.05)
    # Unmatched embeddings: chance level is k/96 under InterGen's protocol.
    chance = r_precision(rng.standard_normal((n, 16)), rng.standard_normal((n, 16)), batch_size=96)
    np.testing.assert_allclose(chance, np.arange(1, 4) / 96, atol=5 * np.sqrt(3 / 96 / n))


def test_r_precision_drop_last_and_errors():
    rng = np.random.default_rng(7)
    text = rng.standard_normal((40, 4))
    # The 8-sample tail is ignored with drop_last and counted without it.
    motion = text.copy()
    motion[32:] = rng.standard_normal((8, 4)) * 100  # tail pairs are all mismatched and far away
    assert r_precision(text, motion, batch_size=32)[0] == 1.0
    tail_hits = r_precision(text[32:], motion[32:], batch_size=8)[0] * 8
    assert r_precision(text, motion, batch_size=32, drop_last=False)[0] == pytest.approx(
        (32 + tail_hits) / 40
    )
    with pytest.raises(InterSynError, match="batch_size=32"):
        r_precision(text[:31], motion[:31])
    with pytest.raises(InterSynError, match="motion_emb"):
        r_precision(text, motion[:, :3])
    with pytest.raises(InterSynError, match="text_emb.*shape"):
        r_precision(text[0], motion[0])


# --------------------------------------------------------------------------------------- MM Dist


def test_mm_dist_hand_computed():
    text = np.array([[0.0, 0.0], [1.0, 1.0], [5.0, 5.0]])
    motion = np.array([[3.0, 4.0], [1.0, 1.0], [0.0, 0.0]])
    assert mm_dist(text, motion, batch_size=2) == pytest.approx(2.5)  # third pair dropped
    assert mm_dist(text, motion, batch_size=3) == pytest.approx((5 + 0 + 50**0.5) / 3)
    with pytest.raises(InterSynError, match="batch_size=4"):
        mm_dist(text, motion, batch_size=4)


# ------------------------------------------------------------------------- Diversity and MModality


def test_diversity_two_points():
    a, b = np.array([0.0, 0.0, 0.0]), np.array([1.0, 2.0, 2.0])  # |a − b| = 3
    emb = np.stack([a, b] * 300)  # 600 rows on two points
    # Each position pairs two uniformly drawn rows: on different points with probability exactly 1/2.
    values = [diversity(emb, 300, rng=seed) for seed in range(200)]
    # Standard error of the mean of 200 × 300 pair indicators (weakly dependent): ~3·sqrt(.25/60000).
    assert np.mean(values) == pytest.approx(1.5, abs=5 * 3 * np.sqrt(0.25 / 60000))
    # Replaying the documented draws (first set, then second, from rng) gives the exact value.
    gen = np.random.default_rng(11)
    first, second = gen.choice(600, 300, replace=False), gen.choice(600, 300, replace=False)
    exact = 3.0 * np.mean(first % 2 != second % 2)
    assert diversity(emb, 300, rng=np.random.default_rng(11)) == pytest.approx(exact)
    assert diversity(emb, 300, rng=11, scale=3.0) == pytest.approx(3 * exact)
    assert diversity(np.tile(a, (300, 1)), 300, rng=0) == 0.0


def test_diversity_errors():
    with pytest.raises(InterSynError, match="pairs=300"):
        diversity(np.zeros((299, 4)), 300)
    with pytest.raises(InterSynError, match="emb.*NaN"):
        diversity(np.full((400, 4), np.nan), 300)


def test_multimodality_known_offsets():
    rng = np.random.default_rng(12)
    base = rng.standard_normal((5, 1, 40))
    assert multimodality(np.repeat(base, 30, axis=1), 10, rng=0) == 0.0
    # Generation r sits at base + c·e_r: distinct generations are c√2 apart, equal ones 0.
    c = 0.5
    emb = base + c * np.eye(40)[:30][None]
    gen = np.random.default_rng(3)
    first, second = gen.choice(30, 10, replace=False), gen.choice(30, 10, replace=False)
    expected = c * np.sqrt(2) * np.mean(first != second)
    assert multimodality(emb, 10, rng=np.random.default_rng(3)) == pytest.approx(expected)
    # In expectation, P(first[k] == second[k]) = 1/30.
    mean = np.mean([multimodality(emb, 10, rng=s) for s in range(300)])
    assert mean == pytest.approx(c * np.sqrt(2) * (29 / 30), abs=0.02)
    # Offsets along one line: generation r at base + r·u, |u| = 1, so pairs are |i − j| apart.
    u = np.zeros(40)
    u[0] = 1.0
    line = base + np.arange(30)[None, :, None] * u
    gen = np.random.default_rng(4)
    first, second = gen.choice(30, 10, replace=False), gen.choice(30, 10, replace=False)
    assert multimodality(line, 10, rng=4) == pytest.approx(np.mean(np.abs(first - second)))
    with pytest.raises(InterSynError, match="pairs=10"):
        multimodality(emb[:, :9], 10)


# ----------------------------------------------------------------------------- protocol helpers


def test_mean_ci_hand_computed():
    mean, ci = mean_ci([1.0, 2.0, 3.0, 4.0])
    assert mean == 2.5
    assert ci == pytest.approx(1.96 * np.sqrt(1.25) / 2)  # population std sqrt(1.25)
    assert mean_ci([7.0]) == (7.0, 0.0)
    with pytest.raises(InterSynError, match="values"):
        mean_ci([])


def test_protocol_constants():
    assert (
        T2M_PROTOCOL.r_precision_batch,
        T2M_PROTOCOL.fid_scale,
        T2M_PROTOCOL.diversity_scale,
    ) == (
        32,
        1.0,
        1.0,
    )
    assert (
        INTERGEN_PROTOCOL.r_precision_batch,
        INTERGEN_PROTOCOL.fid_scale,
        INTERGEN_PROTOCOL.diversity_scale,
    ) == (96, 6.0, 3.0)
    for p in (T2M_PROTOCOL, INTERGEN_PROTOCOL):
        assert (p.mm_pairs, p.diversity_pairs, p.replications) == (10, 300, 20)


def test_evaluate_embeddings_protocols_differ_as_specified():
    rng = np.random.default_rng(13)
    n = 384
    text = rng.standard_normal((n, 8))
    motion = text + 0.8 * rng.standard_normal((n, 8))
    real = rng.standard_normal((500, 8))
    mm = rng.standard_normal((6, 30, 8))
    t2m = evaluate_embeddings(
        text, motion, real_motion_emb=real, mm_emb=mm, protocol=T2M_PROTOCOL, rng=1
    )
    ig = evaluate_embeddings(
        text, motion, real_motion_emb=real, mm_emb=mm, protocol=INTERGEN_PROTOCOL, rng=1
    )
    assert set(t2m) == {
        "r_precision_top1",
        "r_precision_top2",
        "r_precision_top3",
        "mm_dist",
        "fid",
        "diversity",
        "multimodality",
    }
    assert ig["fid"] == pytest.approx(36 * t2m["fid"])  # embeddings × 6
    assert ig["diversity"] == pytest.approx(3 * t2m["diversity"])  # same draws, 3× the raw L2
    assert ig["multimodality"] == pytest.approx(t2m["multimodality"])  # raw in both
    assert ig["mm_dist"] == pytest.approx(t2m["mm_dist"])  # 384 = 4·96 = 12·32: same samples
    assert ig["r_precision_top1"] < t2m["r_precision_top1"]  # 96 candidates instead of 32
    # Without shuffling, the numbers equal the individual functions.
    plain = evaluate_embeddings(text, motion, protocol=T2M_PROTOCOL, rng=2, shuffle=False)
    np.testing.assert_allclose(
        [plain[f"r_precision_top{k}"] for k in (1, 2, 3)], r_precision(text, motion)
    )
    assert plain["diversity"] == pytest.approx(diversity(motion, 300, rng=np.random.default_rng(2)))
    assert "fid" not in plain and "multimodality" not in plain


def test_replicate_uses_independent_seeded_generators():
    def fn(rng: np.random.Generator) -> dict[str, float]:
        return {"u": float(rng.random()), "const": 2.0}

    result = replicate(fn, replications=20, seed=5, progress=False)
    children = np.random.SeedSequence(5).spawn(20)
    values = [np.random.default_rng(c).random() for c in children]
    assert len(set(values)) == 20
    assert result["u"] == pytest.approx(mean_ci(values))
    assert result["const"] == (2.0, 0.0)
    assert replicate(fn, replications=20, seed=5, progress=False) == result
    assert replicate(fn, replications=20, seed=6, progress=False)["u"] != result["u"]

    calls = iter([{"a": 1.0}, {"b": 1.0}])
    with pytest.raises(InterSynError, match="replication 1"):
        replicate(lambda rng: next(calls), replications=2, progress=False)
