"""Known-answer tests for the motion-quality measures on hand-made motions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from intersyn.errors import InterSynError
from intersyn.kinematics.fk import forward_kinematics
from intersyn.kinematics.skeleton import reference_offsets
from intersyn.quality import (
    bone_length_variation,
    contact_distance,
    floating,
    floor_penetration,
    foot_contacts,
    foot_skating,
    interpenetration,
    jerk,
    motion_quality_report,
    segment_distance,
)

FPS = 20.0


def rest_pose() -> np.ndarray:
    """The reference skeleton at rest `(22, 3)`, lowest joint on the floor y = 0."""
    quat = torch.zeros(22, 4, dtype=torch.float64)
    quat[:, 0] = 1.0
    joints = forward_kinematics(quat, torch.zeros(3, dtype=torch.float64), reference_offsets())
    joints = joints.numpy()
    joints[:, 1] -= joints[:, 1].min()
    return joints


def still(frames: int = 30) -> np.ndarray:
    return np.repeat(rest_pose()[None], frames, axis=0)


def translated(velocity: tuple[float, float, float], frames: int = 30) -> np.ndarray:
    """The rest pose moving at a constant velocity (m/s)."""
    t = np.arange(frames)[:, None, None] / FPS
    return still(frames) + t * np.asarray(velocity)


def test_rest_pose_stands_on_floor():
    pose = rest_pose()
    assert pose[:, 1].min() == 0.0
    assert pose[10, 1] < 0.05 and pose[11, 1] < 0.05  # toes on the floor
    assert pose[15, 1] > 1.3  # head up


def test_stationary_body():
    motion = still()
    contacts = foot_contacts(motion, FPS)
    assert contacts.shape == (30, 4) and contacts.dtype == bool and contacts.all()
    skating = foot_skating(motion, FPS)
    assert skating.speed == 0.0 and skating.ratio == 0.0
    assert jerk(motion, FPS) == 0.0
    assert bone_length_variation(motion) < 1e-12
    assert floor_penetration(motion) == (0.0, 0.0)
    assert floating(motion) == 0.0


def test_body_sliding_at_one_metre_per_second():
    motion = translated((1.0, 0.0, 0.0))
    skating = foot_skating(motion, FPS)
    assert skating.speed == pytest.approx(1.0, abs=1e-9)
    assert skating.ratio == 1.0  # 1 m/s > 0.5 m/s threshold
    # Contact by height + speed: 1 m/s exceeds the 0.9 m/s contact speed, so no contacts.
    assert not foot_contacts(motion, FPS).any()
    assert foot_contacts(motion, FPS, speed_thresh=None).all()
    assert jerk(motion, FPS) == pytest.approx(0.0, abs=1e-9)
    # Slow slide: still skating by speed, but below the ratio threshold.
    slow = foot_skating(translated((0.0, 0.0, 0.3)), FPS)
    assert slow.speed == pytest.approx(0.3, abs=1e-9) and slow.ratio == 0.0


def test_one_foot_dragged_other_planted():
    motion = still()
    t = np.arange(30) / FPS
    motion[:, [7, 10], 2] += t[:, None] * 1.0  # left ankle and toe slide forward at 1 m/s
    skating = foot_skating(motion, FPS)  # toes 10 (sliding) and 11 (planted): half the samples
    assert skating.speed == pytest.approx(0.5, abs=1e-9)
    assert skating.ratio == pytest.approx(0.5)
    contacts = foot_contacts(motion, FPS)
    assert not contacts[:, :2].any() and contacts[:, 2:].all()


def test_lifted_foot_is_not_on_floor():
    motion = still()
    motion[:, 10, 1] += 0.2  # toe raised 20 cm
    motion[:, 10, 0] += np.arange(30) / FPS * 3.0  # and swinging fast
    skating = foot_skating(motion, FPS)
    assert skating.speed == 0.0 and skating.ratio == 0.0


def test_skating_counts_only_intervals_on_floor_and_horizontal_motion():
    # Toe-off: the toe leaves the floor between frames 14 and 15 while moving fast; that interval
    # must not count (contact needs both ends on the floor).
    motion = still()
    motion[15:, 10, 1] += 0.2
    motion[15:, 10, 0] += 0.3
    assert foot_skating(motion, FPS) == (0.0, 0.0)
    # A toe bobbing vertically by 3 cm/frame (0.6 m/s) inside the contact band is not sliding.
    bob = still()
    bob[1::2, 10, 1] += 0.03
    assert foot_skating(bob, FPS) == (0.0, 0.0)


def test_floor_penetration_and_floating():
    motion = still()
    motion[..., 1] -= 0.05
    penetration = floor_penetration(motion)
    assert penetration.mean == pytest.approx(0.05) and penetration.max == pytest.approx(0.05)
    assert floating(motion) == 0.0
    # Penetrating only in half of the frames, by 0.05 and 0.10.
    partial = still(4)
    partial[2, :, 1] -= 0.05
    partial[3, :, 1] -= 0.10
    assert floor_penetration(partial) == pytest.approx((0.0375, 0.10))
    hover = still()
    hover[..., 1] += 0.3
    assert floating(hover) == pytest.approx(0.3)
    assert floor_penetration(hover) == (0.0, 0.0)


def test_bone_length_variation():
    motion = still(10)
    motion[5, 21] += np.array([0.0, -0.04, 0.0])  # right wrist pulled 4 cm along its forearm
    assert bone_length_variation(motion) == pytest.approx(0.04)
    assert bone_length_variation(translated((0.5, 0.0, 0.2))) < 1e-12


def test_jerk_known_answers():
    t = np.arange(40) / FPS
    # Constant acceleration: third derivative 0 exactly for a quadratic.
    quad = still(40)
    quad[..., 1] += (0.5 * 9.81 * t**2)[:, None]
    assert jerk(quad, FPS) == pytest.approx(0.0, abs=1e-6)
    # Cubic x = c·t³: third differences are exactly 6c (times fps³ / fps³).
    c = 2.5
    cubic = still(40)
    cubic[..., 0] += (c * t**3)[:, None]
    assert jerk(cubic, FPS) == pytest.approx(6 * c, rel=1e-9)
    # Only half the joints move: the mean over joints halves... (11 of 22)
    half = still(40)
    half[:, :11, 0] += (c * t**3)[:, None]
    assert jerk(half, FPS) == pytest.approx(3 * c, rel=1e-9)
    with pytest.raises(InterSynError, match="at least 4 frames"):
        jerk(still(3), FPS)


def test_batched_and_torch_inputs():
    batch = np.stack([still(), translated((1.0, 0.0, 0.0))])  # (2, T, 22, 3)
    skating = foot_skating(batch, FPS)
    np.testing.assert_allclose(skating.speed, [0.0, 1.0], atol=1e-9)
    assert isinstance(skating.speed, np.ndarray)
    assert foot_contacts(batch, FPS).shape == (2, 30, 4)
    torch_jerk = jerk(torch.from_numpy(batch), FPS)
    assert isinstance(torch_jerk, torch.Tensor) and torch_jerk.shape == (2,)
    report = motion_quality_report(batch, FPS)
    assert report["foot_skating_speed"] == pytest.approx(0.5)  # mean of 0 and 1
    assert report["foot_contact_fraction"] == pytest.approx(0.5)


def test_input_errors():
    with pytest.raises(InterSynError, match=r"joints: expected shape \(\.\.\., T, 22, 3\)"):
        jerk(np.zeros((10, 21, 3)), FPS)
    bad = still()
    bad[3, 4, 0] = np.nan
    with pytest.raises(InterSynError, match="NaN"):
        floating(bad)
    with pytest.raises(InterSynError, match="fps"):
        foot_skating(still(), 0.0)
    with pytest.raises(InterSynError, match="height_thresh"):
        foot_contacts(still(), FPS, height_thresh=(0.1, 0.1))


# ---------------------------------------------------------------------------------- two people


def test_contact_distance_known_offsets():
    a = still(5)
    b = a + np.array([2.0, 0.0, 0.0])
    dist = contact_distance(a, b, [(0, 0), (15, 15), (20, 21)], frames=[0, -1])
    assert dist.shape == (2, 3)
    np.testing.assert_allclose(dist[:, :2], 2.0)
    expected = np.linalg.norm(a[0, 20] - b[0, 21])
    np.testing.assert_allclose(dist[:, 2], expected)
    assert contact_distance(a, b, [(0, 0)]).shape == (5, 1)
    with pytest.raises(InterSynError, match="frames"):
        contact_distance(a, b, [(0, 0)], frames=[5])
    with pytest.raises(InterSynError, match="pairs"):
        contact_distance(a, b, [(0, 22)])
    with pytest.raises(InterSynError, match="joints_b"):
        contact_distance(a, b[:4], [(0, 0)])


def test_segment_distance_known_geometry():
    def d(p0, p1, q0, q1):
        return float(
            segment_distance(*(torch.tensor(v, dtype=torch.float64) for v in (p0, p1, q0, q1)))
        )

    assert d([0, 0, 0], [1, 0, 0], [0.5, -1, 2], [0.5, 1, 2]) == pytest.approx(
        2.0
    )  # crossing, 2 apart
    assert d([0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]) == pytest.approx(1.0)  # parallel
    assert d([0, 0, 0], [1, 0, 0], [2, 0, 0], [3, 0, 0]) == pytest.approx(
        1.0
    )  # collinear, end to end
    assert d([0, 0, 0], [1, 0, 0], [3, 4, 0], [3, 9, 0]) == pytest.approx(
        np.hypot(2, 4)
    )  # endpoints
    assert d([0, 0, 0], [0, 0, 0], [1, -1, 0], [1, 1, 0]) == pytest.approx(1.0)  # point vs segment
    assert d([0, 0, 0], [0, 0, 0], [3, 4, 0], [3, 4, 0]) == pytest.approx(5.0)  # two points
    assert d([0, 0, 0], [1, 0, 0], [0.5, 1, 0], [1.5, 1, 0]) == pytest.approx(
        1.0
    )  # parallel overlap
    # Against a semi-brute force on random segments: a fine grid over s, the exact projection for t.
    rng = np.random.default_rng(0)
    seg = rng.standard_normal((200, 4, 3))
    seg[:10, 3] = seg[:10, 2] + (seg[:10, 1] - seg[:10, 0]) * 0.7 + 1e-9  # nearly parallel pairs
    got = segment_distance(*torch.from_numpy(seg).unbind(1)).numpy()
    s = np.linspace(0, 1, 2001)[None, :, None]
    p = seg[:, None, 0] + s * (seg[:, 1] - seg[:, 0])[:, None]  # (200, 2001, 3)
    d2 = (seg[:, 3] - seg[:, 2])[:, None]
    t = np.clip(
        np.sum((p - seg[:, None, 2]) * d2, -1, keepdims=True) / np.sum(d2 * d2, -1, keepdims=True),
        0,
        1,
    )
    grid = np.linalg.norm(p - seg[:, None, 2] - t * d2, axis=-1).min(axis=1)
    # The grid can only overestimate, by at most |d1|·Δs/2 (< 3e-3 for these lengths).
    assert np.all(got <= grid + 1e-9)
    np.testing.assert_allclose(got, grid, atol=3e-3)


def test_interpenetration_known_distances():
    # "Bodies" whose joints all lie on a vertical line: the closest bone distance is the line gap.
    line = np.zeros((6, 22, 3))
    line[..., 1] = np.linspace(0.0, 1.7, 22)
    gaps = np.array([0.03, 0.05, 0.08, 0.10, 0.5, 2.0])
    other = line.copy()
    other[..., 0] += gaps[:, None]
    result = interpenetration(line, other, radius=0.05)
    depth = np.maximum(0.0, 0.10 - gaps)  # (0.07, 0.05, 0.02, 0, 0, 0)
    assert result.mean_depth == pytest.approx(depth.mean())
    assert result.max_depth == pytest.approx(0.07)
    assert result.ratio == pytest.approx(0.5)
    # Two rest poses 1.5 m apart do not touch; the same body on itself overlaps by 2r.
    apart = interpenetration(still(3), still(3) + np.array([1.5, 0.0, 0.0]))
    assert apart == (0.0, 0.0, 0.0)
    assert interpenetration(still(3), still(3)).max_depth == pytest.approx(0.10)


# --------------------------------------------------------------------------------- real clip


def test_report_on_real_clip(real_joints: np.ndarray):
    report = motion_quality_report(real_joints, FPS)
    # HumanML3D clip 012314 (tennis serve, 20 fps): clean mocap on the floor with a rigid skeleton.
    assert report["floor_penetration_max"] == 0.0  # floor = the clip's lowest point
    assert report["bone_length_variation"] < 1e-5  # 2.0e-6: float32 storage of a rigid skeleton
    assert 0.005 < report["floating"] < 0.03  # lowest joint ≈ 1.6 cm above the floor on average
    assert 0.1 < report["foot_skating_speed"] < 0.5
    assert report["foot_skating_ratio"] < 0.2
    assert 0.5 < report["foot_contact_fraction"] < 1.0
    # Measured 113 m/s³ (root 79, wrists ~185): at 20 fps, 1 mm of third difference is 8 m/s³.
    assert 30.0 < report["jerk"] < 300.0
