"""Post-processing of generated joints: smoothing and foot locking, on real and procedural motion."""

import numpy as np
import pytest

from intersyn import InterSynError
from intersyn.data.procedural import generate_solo_clip
from intersyn.kinematics.cleanup import CleanupConfig, clean_motion, lock_feet, smooth
from intersyn.quality import foot_skating, jerk

FPS = 20


@pytest.fixture(scope="module")
def walk() -> np.ndarray:
    clip = generate_solo_clip("walk", np.random.default_rng(3), fps=FPS)
    return np.asarray(clip.joints, np.float64)


def _jittered(joints: np.ndarray, scale: float, seed: int = 0) -> np.ndarray:
    return joints + np.random.default_rng(seed).normal(0, scale, joints.shape)


def _leg_lengths(joints: np.ndarray) -> np.ndarray:
    return np.stack(
        [
            np.linalg.norm(joints[..., a, :] - joints[..., b, :], axis=-1)
            for a, b in ((1, 4), (4, 7), (2, 5), (5, 8))
        ],
        -1,
    )


def test_clean_motion_removes_jitter_and_skating(walk):
    noisy = _jittered(walk, 0.02)
    cleaned = clean_motion(noisy)
    assert jerk(noisy, FPS) > 10 * jerk(walk, FPS)  # the jitter is what the measure sees
    assert jerk(cleaned, FPS) < jerk(noisy, FPS) / 5
    assert foot_skating(noisy, FPS).speed > 0.3
    assert foot_skating(cleaned, FPS).speed < 0.01
    # The motion itself is kept: the body still travels as far, joints move a few cm at most.
    assert np.abs(cleaned[:, 0] - walk[:, 0]).max() < 0.05
    assert np.abs(cleaned - walk).mean() < 0.02


def test_foot_lock_keeps_legs_and_leaves_swinging_feet(walk):
    noisy = smooth(_jittered(walk, 0.01, seed=1), 1.0)
    locked = lock_feet(noisy)
    np.testing.assert_allclose(_leg_lengths(locked), _leg_lengths(noisy), atol=1e-6)
    # Only legs move; a toe high in the air (mid swing, far from any stance) is untouched.
    untouched = [j for j in range(22) if j not in (4, 5, 7, 8, 10, 11)]
    np.testing.assert_array_equal(locked[:, untouched], noisy[:, untouched])
    toe = noisy[:, 10, 1]
    low = toe < 0.05
    near = np.convolve(low.astype(float), np.ones(9), mode="same") > 0
    np.testing.assert_array_equal(locked[~near, 10], noisy[~near, 10])
    # Heights only go up: low toes to the swing clearance at most; a toe in the air moves by
    # less than 1 cm (where the leg cannot quite reach a pin as it eases out).
    rise = locked[..., 10, 1] - noisy[..., 10, 1]
    assert rise.min() > -1e-9 and rise[~low].max() < 0.01
    assert np.all(locked[low & (rise > 1e-9), 10, 1] < 0.06 + 1e-6)


def test_sliding_feet_become_steps_not_long_pins(walk):
    # A shuffle: the same walk with the toes never leaving the floor, so they slide at walking
    # speed between stances. Pinning every low frame would merge the stances into one.
    shuffle = walk.copy()
    shuffle[:, [10, 11], 1] = np.minimum(shuffle[:, [10, 11], 1], 0.03)
    assert foot_skating(shuffle, FPS).speed > 0.3
    locked = lock_feet(shuffle)
    assert foot_skating(locked, FPS).speed < 0.01
    # Fast toes are lifted (stepping), slow ones stay down and are moved a few cm at most.
    toes = locked[:, [10, 11]]
    lifted = toes[..., 1] - shuffle[:, [10, 11], 1] > 1e-9
    assert 0.1 < lifted.mean() < 0.5  # swings; the clip starts and ends standing
    np.testing.assert_allclose(toes[lifted][:, 1], 0.06, atol=1e-3)  # the two-bone IK reaches
    assert np.linalg.norm((toes - shuffle[:, [10, 11]])[~lifted], axis=-1).max() < 0.1
    np.testing.assert_allclose(_leg_lengths(locked), _leg_lengths(shuffle), atol=1e-6)


def test_cleanup_config_rejects_a_clearance_below_the_floor_height():
    with pytest.raises(InterSynError, match="swing_clearance"):
        CleanupConfig(swing_clearance=0.04)


def test_batched_people_match_one_by_one(walk):
    pair = np.stack([_jittered(walk, 0.02, 0), _jittered(walk[::-1].copy(), 0.02, 1)])
    together = clean_motion(pair)
    for k in range(2):
        np.testing.assert_allclose(together[k], clean_motion(pair[k]), atol=1e-9)


def test_disabled_cleanup_is_identity_and_bad_input(walk):
    assert np.array_equal(clean_motion(walk, CleanupConfig(sigma=0, foot_lock=False)), walk)
    with pytest.raises(InterSynError, match=r"joints: expected shape \(\.\.\., T, 22, 3\)"):
        clean_motion(walk[..., :2])
    bad = walk.copy()
    bad[3, 4, 1] = np.nan
    with pytest.raises(InterSynError, match="NaN"):
        clean_motion(bad)
    # Clips shorter than the filter and floating bodies (no stance) pass through.
    short = clean_motion(walk[:2])
    assert short.shape == (2, 22, 3) and np.isfinite(short).all()
    lifted = walk + np.array([0.0, 1.0, 0.0])
    np.testing.assert_allclose(lock_feet(lifted), lifted)
