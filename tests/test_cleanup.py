"""Post-processing of generated joints: smoothing, foot locking and hand contact, on procedural
motion."""

import numpy as np
import pytest

from intersyn import InterSynError
from intersyn.data.procedural import generate_pair_clip, generate_solo_clip
from intersyn.kinematics.cleanup import (
    ARMS,
    CleanupConfig,
    clean_motion,
    join_hands,
    lock_feet,
    smooth,
)
from intersyn.quality import contact_distance, foot_skating, jerk

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


def test_short_blurred_stances_are_planted_not_lifted():
    # The model draws motion in 4-frame patches: a run held patch by patch, then smoothed,
    # turns each short stance into a slow slide that the plant speed alone lifts off the floor.
    def on_floor(joints: np.ndarray) -> float:
        return float((joints[:, [10, 11], 1] < 0.05).mean())

    shares = []
    for seed in (3, 4):
        run = generate_solo_clip("run", np.random.default_rng(seed), fps=FPS).joints
        run = np.asarray(run, np.float64)
        held = run[(np.arange(len(run)) // 4) * 4]
        lifted = clean_motion(held, CleanupConfig(stance_speed=0.5))  # the plant speed alone
        cleaned = clean_motion(held)
        shares.append((on_floor(run), on_floor(lifted), on_floor(cleaned)))
        assert foot_skating(cleaned, FPS).speed < 0.01  # planted, not sliding
        assert np.linalg.norm(cleaned[:, [10, 11]] - lifted[:, [10, 11]], axis=-1).max() < 0.15
    data, hovering, planted = np.mean(shares, axis=0)
    assert data > 0.5 and hovering < 0.35  # the data's stances; feet lifted through most
    assert planted > hovering + 0.1


def test_two_stances_joined_by_a_slow_slide_stay_two_steps(walk):
    # A toe stands, slides 15 cm at 1 m/s low over the floor, and stands again: slow enough
    # for the stance rule, but two stances the plant speed finds are never merged into one pin.
    x = np.r_[np.zeros(5), [0.05, 0.1], np.full(7, 0.15)]
    feet = np.repeat(walk[:1], len(x), axis=0)
    feet[:, 10, 0] += x
    feet[:, 10, 1] = 0.01
    locked = lock_feet(feet)
    np.testing.assert_allclose(locked[:, 10, 0] - feet[:, 10, 0], 0.0, atol=1e-6)
    assert np.all(locked[[5, 6], 10, 1] > 0.059)  # the slide is a step
    np.testing.assert_allclose(locked[[*range(5), *range(7, 14)], 10, 1], 0.01)


def test_a_long_slow_slide_is_lifted_not_pinned(walk):
    # A toe sliding 55 cm low over the floor at 1 m/s, never slow: slower than stance_speed
    # but wider than stance_radius, so a slide (a step), not a stance pinned at its middle.
    feet = np.repeat(walk[:1], 12, axis=0)
    feet[:, 10, 0] += 0.05 * np.arange(12)
    feet[:, 10, 1] = 0.01
    locked = lock_feet(feet)
    np.testing.assert_allclose(locked[:, 10, [0, 2]], feet[:, 10, [0, 2]], atol=1e-6)
    assert np.all(locked[:, 10, 1] > 0.059)
    pinned = lock_feet(feet, CleanupConfig(stance_radius=1.0))  # the radius is what decides
    assert np.abs(pinned[:, 10, 0] - feet[:, 10, 0]).max() > 0.2


def test_cleanup_config_rejects_a_clearance_below_the_floor_height():
    with pytest.raises(InterSynError, match="swing_clearance"):
        CleanupConfig(swing_clearance=0.04)
    with pytest.raises(InterSynError, match="stance_speed"):
        CleanupConfig(stance_speed=0.4)
    with pytest.raises(InterSynError, match="stance_radius"):
        CleanupConfig(stance_radius=-0.1)


def test_batched_people_match_one_by_one(walk):
    # (The two walk through each other, so hand contact is off: only that couples people.)
    pair = np.stack([_jittered(walk, 0.02, 0), _jittered(walk[::-1].copy(), 0.02, 1)])
    config = CleanupConfig(hand_contact=False)
    together = clean_motion(pair, config)
    for k in range(2):
        np.testing.assert_allclose(together[k], clean_motion(pair[k], config), atol=1e-9)


def test_disabled_cleanup_is_identity_and_bad_input(walk):
    off = CleanupConfig(sigma=0, rigid_skeleton=False, foot_lock=False, hand_contact=False)
    assert np.array_equal(clean_motion(walk, off), walk)
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


WRISTS = (20, 21)


def _closest_hands(pair: np.ndarray) -> np.ndarray:
    """Per frame, the smallest distance between a wrist of person 0 and one of person 1."""
    pairs = [(a, b) for a in WRISTS for b in WRISTS]
    return np.asarray(contact_distance(pair[0], pair[1], pairs)).min(-1)


def _arm_lengths(joints: np.ndarray) -> np.ndarray:
    bones = [(s, e) for s, e, _ in ARMS] + [(e, w) for _, e, w in ARMS]
    return np.stack(
        [np.linalg.norm(joints[..., a, :] - joints[..., b, :], axis=-1) for a, b in bones], -1
    )


@pytest.fixture(scope="module")
def handshake_apart() -> np.ndarray:
    """A procedural handshake (hands meet at 2 cm) with the partner stepped 6 cm back, as the
    model lands its hands."""
    joints = np.asarray(generate_pair_clip("shake_hands", np.random.default_rng(0), fps=FPS).joints)
    assert _closest_hands(joints).min() < 0.021
    away = joints[1, :, 0] - joints[0, :, 0]
    away[:, 1] = 0.0
    away /= np.linalg.norm(away, axis=-1, keepdims=True)
    apart = joints.astype(np.float64).copy()
    apart[1] += 0.06 * away[:, None, :]
    return apart


def test_hand_contact_closes_near_hands_and_keeps_the_arms(handshake_apart):
    config = CleanupConfig()
    joined = join_hands(handshake_apart, config)
    before, after = _closest_hands(handshake_apart), _closest_hands(joined)
    assert 0.07 < before.min() < config.hand_radius / 2
    assert 0.005 < after.min() < config.hand_gap + 0.005
    np.testing.assert_allclose(_arm_lengths(joined), _arm_lengths(handshake_apart), atol=1e-9)
    # Only elbows and wrists move, only while hands are within the radius, and never apart.
    moved = np.abs(joined - handshake_apart).max(-1) > 1e-9  # (P, T, J)
    assert set(np.flatnonzero(moved.any((0, 1)))) <= {18, 19, 20, 21}
    near = np.convolve(before < config.hand_radius, np.ones(7), mode="same") > 0  # (sigma 1)
    assert not moved[:, ~near].any()
    assert np.all(after <= before + 1e-9)
    # Hands glide together: no frame-to-frame jump larger than the clip's own wrist speed.
    speed = np.abs(np.diff(handshake_apart[..., WRISTS, :], axis=1)).max()
    assert np.abs(np.diff(joined[..., WRISTS, :], axis=1)).max() < 1.5 * speed


def test_hand_contact_pull_fades_continuously_with_distance():
    config = CleanupConfig(sigma=0)  # each frame on its own: the pull against the distance
    distance = np.linspace(0.0, 0.4, 4001)
    pair = np.zeros((2, len(distance), 22, 3))
    pair[..., 16, :] = pair[..., 17, :] = [0.0, 1.4, 0.0]  # arms down, elbows bent forward
    pair[..., 18, :] = pair[..., 19, :] = [0.0, 1.15, 0.1]
    pair[..., 20, :] = pair[..., 21, :] = [0.0, 0.9, 0.0]
    pair[0, :, :, 0] -= 0.5 * distance[:, None]  # the two people side by side, hands `distance`
    pair[1, :, :, 0] += 0.5 * distance[:, None]  # apart along x
    pair[0, :, [17, 19, 21], 0] -= 1.0  # right arms far away: only the left hands meet
    pair[1, :, [17, 19, 21], 0] += 1.0
    joined = join_hands(pair, config)
    new = np.linalg.norm(joined[0, :, 20] - joined[1, :, 20], axis=-1)
    old = np.linalg.norm(pair[0, :, 20] - pair[1, :, 20], axis=-1)
    full, faded, outside = (
        old <= config.hand_radius / 2,
        old < config.hand_radius,
        old >= config.hand_radius,
    )
    np.testing.assert_allclose(new[full & (old > config.hand_gap)], config.hand_gap, atol=1e-6)
    np.testing.assert_allclose(new[outside], old[outside], atol=1e-12)
    assert np.all(np.diff(new) >= -1e-9)  # farther stays farther
    assert np.abs(np.diff(new)).max() < 5 * np.diff(old).max()  # no jump at either edge
    assert np.all(new[faded] <= old[faded] + 1e-12)


def test_hand_contact_ignores_absent_people_and_single_people(handshake_apart):
    presence = np.ones(handshake_apart.shape[:2], bool)
    presence[1] = False
    np.testing.assert_array_equal(join_hands(handshake_apart, presence=presence), handshake_apart)
    assert join_hands(handshake_apart[:1]) is not None
    np.testing.assert_array_equal(join_hands(handshake_apart[:1]), handshake_apart[:1])
    # A batch of samples (N, P, T, 22, 3) with one presence per person broadcasts.
    batch = np.stack([handshake_apart, handshake_apart])
    np.testing.assert_allclose(join_hands(batch)[1], join_hands(handshake_apart), atol=1e-12)
    # clean_motion joins hands by default and keeps them apart when told not to.
    off = clean_motion(handshake_apart, CleanupConfig(hand_contact=False))
    on = clean_motion(handshake_apart)
    assert _closest_hands(on).min() < 0.03 < _closest_hands(off).min()
    with pytest.raises(InterSynError, match="hand_gap"):
        CleanupConfig(hand_gap=0.15)
    with pytest.raises(InterSynError, match=r"presence: shape \(3, 5\)"):
        clean_motion(handshake_apart, presence=np.ones((3, 5), bool))


def _bone_lengths(joints: np.ndarray) -> np.ndarray:
    from intersyn.kinematics.skeleton import PARENTS

    return np.linalg.norm(joints[..., 1:, :] - joints[..., list(PARENTS[1:]), :], axis=-1)


def test_cleaned_motion_is_what_the_bvh_file_encodes(walk, tmp_path):
    # Generated joints stretch their bones from frame to frame; the BVH has one skeleton.
    from intersyn.export.bvh import write_bvh

    noisy = _jittered(walk, 0.02, seed=4)
    assert _bone_lengths(noisy).std(0).max() > 0.01
    cleaned = clean_motion(noisy)
    assert _bone_lengths(cleaned).std(0).max() < 1e-9  # one length per bone
    encoded = write_bvh(tmp_path / "walk.bvh", cleaned[None], fps=FPS)[0]
    assert np.abs(encoded - cleaned).max() < 1e-4
    assert foot_skating(encoded, FPS).speed < 0.01  # the exported feet stay locked
    # Fixed bone lengths turn stretching into motion; smoothing the fit and fitting again
    # keeps the result smoother than the unfitted clean-up (one fit: more than 2x the jerk).
    unfitted = clean_motion(noisy, CleanupConfig(rigid_skeleton=False))
    assert jerk(cleaned, FPS) < jerk(unfitted, FPS)
    # Without the rigid skeleton, the file's fit moves the locked toes and they skate again.
    loose = clean_motion(noisy, CleanupConfig(rigid_skeleton=False))
    loose_encoded = write_bvh(tmp_path / "loose.bvh", loose[None], fps=FPS)[0]
    assert np.abs(loose_encoded - loose).max() > 0.01
    assert foot_skating(loose_encoded, FPS).speed > 10 * foot_skating(encoded, FPS).speed
    # A person absent from the whole clip (all zeros) has no skeleton and is kept as it is.
    pair = clean_motion(np.stack([noisy, np.zeros_like(noisy)]))
    np.testing.assert_array_equal(pair[1], 0.0)
    np.testing.assert_allclose(pair[0], cleaned, atol=1e-12)
