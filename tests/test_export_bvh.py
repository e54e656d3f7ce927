"""BVH export: Euler conversion, rotation fitting, file round trips, and a real Blender import."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from intersyn.errors import InterSynError
from intersyn.export import bvh
from intersyn.kinematics.skeleton import JOINT_NAMES, NUM_JOINTS, PARENTS, reference_offsets

ORDERS = ["XYZ", "XZY", "YXZ", "YZX", "ZXY", "ZYX"]
BLENDER_SCRIPT = Path(__file__).with_name("blender_import_check.py")


def read_joints(path: Path) -> np.ndarray:
    """Parse a written BVH and run its forward kinematics, joints in `JOINT_NAMES` order."""
    names, parents, offsets, _, channels, motion = bvh.read_bvh(path)
    positions = bvh.bvh_to_joints(parents, offsets, channels, motion)
    return positions[:, [names.index(n) for n in JOINT_NAMES]]


def random_pose_motion(frames: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Smooth random motion with random twists, built by an independent FK, and its offsets."""
    rng = np.random.default_rng(seed)
    offsets = reference_offsets().numpy().copy()
    for k in (1, 2, 3, 12, 13, 14):  # non-right-angle hip and collar geometry, as in SMPL
        offsets[k] += rng.normal(0, 0.04, 3)
    keys = Rotation.random(NUM_JOINTS * 4, random_state=seed).as_rotvec().reshape(4, NUM_JOINTS, 3)
    t = np.linspace(0, 3, frames)
    lo = np.minimum(t.astype(int), 2)
    w = (t - lo)[:, None, None]
    rotvec = keys[lo] * (1 - w) + keys[lo + 1] * w  # (T, 22, 3)
    world = (
        Rotation.from_rotvec(rotvec.reshape(-1, 3)).as_matrix().reshape(frames, NUM_JOINTS, 3, 3)
    )
    joints = np.zeros((frames, NUM_JOINTS, 3))
    joints[:, 0] = rng.normal(0, 0.5, 3) + np.stack([t, 0.9 + 0 * t, -t], -1)
    for k in range(1, NUM_JOINTS):  # joint k hangs off its parent's (random, twisted) frame
        joints[:, k] = joints[:, PARENTS[k]] + world[:, PARENTS[k]] @ offsets[k]
    return joints, offsets


@pytest.mark.parametrize("order", ORDERS)
def test_euler_matches_scipy_and_round_trips(order: str) -> None:
    rng = np.random.default_rng(1)
    angles = rng.uniform(-np.pi, np.pi, (500, 3))
    angles[:, 1] /= 2  # the middle angle's principal range
    matrix = bvh.euler_to_matrix(angles, order)
    # scipy's upper-case sequence is intrinsic: R = R_a R_b R_c, the BVH channel convention.
    np.testing.assert_allclose(matrix, Rotation.from_euler(order, angles).as_matrix(), atol=1e-12)
    np.testing.assert_allclose(bvh.matrix_to_euler(matrix, order), angles, atol=1e-9)
    locked = angles.copy()
    locked[:, 1] = np.pi / 2 * np.sign(rng.normal(size=500))  # gimbal lock still reconstructs
    matrix = bvh.euler_to_matrix(locked, order)
    np.testing.assert_allclose(
        bvh.euler_to_matrix(bvh.matrix_to_euler(matrix, order), order), matrix, atol=1e-9
    )


def test_real_clip_round_trip(tmp_path: Path, real_joints: np.ndarray) -> None:
    encoded = bvh.write_bvh(tmp_path / "motion.bvh", real_joints, fps=20)
    assert encoded.shape == (1, *real_joints.shape) and encoded.dtype == np.float32
    parsed = read_joints(tmp_path / "motion.bvh")
    assert np.abs(parsed - encoded[0]).max() < 1e-4
    # Constant bone lengths: the file reproduces the clip itself (reported: ~2e-6 m).
    assert np.abs(encoded[0] - real_joints).max() < 1e-4
    names, parents, offsets, frame_time, channels, motion = bvh.read_bvh(tmp_path / "motion.bvh")
    assert sorted(names) == sorted(JOINT_NAMES) and frame_time == pytest.approx(0.05)
    assert motion.shape == (len(real_joints), 6 + 3 * 21)
    assert channels[0][:3] == ["Xposition", "Yposition", "Zposition"]
    np.testing.assert_allclose(offsets[0], 0.0)
    np.testing.assert_allclose(motion[:, :3], real_joints[:, 0], atol=1e-6)
    # Leaf (End Site) joints carry no rotation.
    for leaf in ("left_foot", "right_foot", "head", "left_wrist", "right_wrist"):
        start = 3 + 3 * names.index(leaf)
        np.testing.assert_allclose(motion[:, start : start + 3], 0.0)


def test_reference_rest_pose_is_written(tmp_path: Path, real_joints: np.ndarray) -> None:
    offsets = bvh.skeleton_offsets_from_motion(real_joints)
    reference = reference_offsets().numpy()
    lengths = np.linalg.norm(offsets, axis=-1)
    np.testing.assert_allclose(lengths, np.linalg.norm(reference, axis=-1), atol=1e-5)
    single = [k for k in range(1, NUM_JOINTS) if k not in (1, 2, 3, 12, 13, 14)]
    np.testing.assert_allclose(offsets[single], reference[single], atol=1e-5)
    # The measured hip geometry: sideways-down and symmetric-ish about the body's midline.
    assert (
        offsets[1, 0] > 0.03 and offsets[2, 0] < -0.03 and offsets[1, 1] < 0 and offsets[3, 1] > 0
    )


def test_random_twisted_poses_round_trip(tmp_path: Path) -> None:
    joints, offsets = random_pose_motion(40, seed=3)
    root, local = bvh.fit_rotations(joints, offsets)
    np.testing.assert_allclose(
        bvh.local_rotations_to_joints(root, local, offsets), joints, atol=1e-9
    )
    np.testing.assert_allclose(np.linalg.det(local), 1.0, atol=1e-9)
    # Offsets measured from the motion reproduce the rigid non-right-angle geometry as well.
    encoded = bvh.write_bvh(tmp_path / "r.bvh", torch.from_numpy(joints))
    assert np.abs(encoded[0] - joints).max() < 1e-4
    assert np.abs(read_joints(tmp_path / "r.bvh") - encoded[0]).max() < 1e-4


def test_single_child_rotations_are_minimal_twist(real_joints: np.ndarray) -> None:
    offsets = bvh.skeleton_offsets_from_motion(real_joints)
    _, local = bvh.fit_rotations(real_joints, offsets)
    for k in range(1, NUM_JOINTS):
        children = [c for c in range(NUM_JOINTS) if PARENTS[c] == k]
        if len(children) != 1:
            continue
        rotvec = Rotation.from_matrix(local[:, k]).as_rotvec()
        rest = offsets[children[0]] / np.linalg.norm(offsets[children[0]])
        # A pure swing: its axis is perpendicular to the child bone's rest direction.
        assert np.abs(rotvec @ rest).max() < 1e-6, JOINT_NAMES[k]


def test_varying_bone_lengths_return_what_is_written(
    tmp_path: Path, real_joints: np.ndarray
) -> None:
    rng = np.random.default_rng(0)
    noisy = real_joints + rng.normal(0, 0.01, real_joints.shape)
    encoded = bvh.write_bvh(tmp_path / "n.bvh", noisy)[0]
    assert np.abs(read_joints(tmp_path / "n.bvh") - encoded).max() < 1e-4
    lengths = np.linalg.norm(encoded[:, 1:] - encoded[:, list(PARENTS[1:])], axis=-1)
    assert lengths.std(axis=0).max() < 1e-5  # one skeleton for the whole clip
    error = np.linalg.norm(encoded - noisy, axis=-1)
    assert 0.003 < error.mean() < 0.03  # follows the noisy joints to within the noise


def test_euler_channels_are_continuous(tmp_path: Path, real_joints: np.ndarray) -> None:
    bvh.write_bvh(tmp_path / "m.bvh", real_joints)
    names, _, _, _, _, motion = bvh.read_bvh(tmp_path / "m.bvh")
    _, local = bvh.fit_rotations(real_joints)
    step = Rotation.from_matrix((np.swapaxes(local[:-1], -1, -2) @ local[1:]).reshape(-1, 3, 3))
    geodesic = np.degrees(step.magnitude()).reshape(len(local) - 1, NUM_JOINTS)
    jumps = np.abs(np.diff(motion[:, 3:], axis=0)).reshape(len(local) - 1, NUM_JOINTS, 3)
    file_to_index = [JOINT_NAMES.index(n) for n in names]
    # Every channel moves at most about as far as the joint really turned: no 360° or branch flips.
    assert (jumps.max(axis=2) <= 1.6 * geodesic[:, file_to_index] + 0.5).all()

    # A root turning three times about Y: the heading channel keeps counting past 180°.
    frames = 120
    spin = np.linspace(0, 6 * np.pi, frames)
    yaw = Rotation.from_rotvec(np.outer(spin, [0, 1, 0])).as_matrix()  # (T, 3, 3)
    joints = np.einsum("tij,kj->tki", yaw, real_joints[0] - real_joints[0, 0]) + real_joints[0, 0]
    bvh.write_bvh(tmp_path / "spin.bvh", joints)
    _, _, _, _, channels, motion = bvh.read_bvh(tmp_path / "spin.bvh")
    heading = motion[:, 3 + channels[0][3:].index("Yrotation")]
    assert np.abs(np.diff(heading)).max() < 10 and abs(heading[-1] - heading[0]) > 1000
    assert np.abs(read_joints(tmp_path / "spin.bvh") - joints).max() < 1e-4


def test_multiple_people_get_one_file_each(tmp_path: Path, real_joints: np.ndarray) -> None:
    second = real_joints[::-1].copy() + np.array([1.0, 0.0, 2.0], dtype=np.float32)
    encoded = bvh.write_bvh(tmp_path / "motion.bvh", np.stack([real_joints, second]), fps=30)
    assert bvh.bvh_paths(tmp_path / "motion.bvh", 2)[1] == tmp_path / "motion_person2.bvh"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["motion.bvh", "motion_person2.bvh"]
    for person, (name, source) in enumerate(
        zip(["motion.bvh", "motion_person2.bvh"], [real_joints, second])
    ):
        parsed = read_joints(tmp_path / name)
        assert np.abs(parsed - encoded[person]).max() < 1e-4
        assert np.abs(encoded[person] - source).max() < 1e-4
        assert bvh.read_bvh(tmp_path / name)[3] == pytest.approx(1 / 30)


def test_custom_names_and_offsets(tmp_path: Path, real_joints: np.ndarray) -> None:
    names = [f"p1_{n}" for n in JOINT_NAMES]
    offsets = bvh.skeleton_offsets_from_motion(real_joints) * 1.1  # a bigger body
    encoded = bvh.write_bvh(tmp_path / "c.bvh", real_joints[:20], offsets=offsets, names=names)
    parsed_names, _, parsed_offsets, *_ = bvh.read_bvh(tmp_path / "c.bvh")
    assert parsed_names[0] == "p1_pelvis" and set(parsed_names) == set(names)
    lengths = np.linalg.norm(encoded[0, :, 4] - encoded[0, :, 1], axis=-1)
    np.testing.assert_allclose(
        lengths, 1.1 * np.linalg.norm(real_joints[0, 4] - real_joints[0, 1]), rtol=1e-4
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"joints": np.zeros((10, 21, 3))}, "joints: expected shape"),
        ({"joints": np.zeros((2, 2, 10, 22, 3))}, "joints: expected shape"),
        ({"joints": np.full((10, 22, 3), np.nan)}, "NaN"),
        ({"fps": 0}, "fps"),
        ({"fps": -5.0}, "fps"),
        ({"fps": float("nan")}, "fps"),
        ({"path": "motion.txt"}, "expected a file name ending in .bvh"),
        ({"names": ["a"] * 22}, "names"),
        ({"names": ["has space"] + list(JOINT_NAMES[1:])}, "names"),
        ({"offsets": np.zeros((22, 3))}, "offsets"),
        ({"offsets": np.ones((3, 22, 3))}, "offsets"),
    ],
)
def test_bad_input_raises_one_line(
    tmp_path: Path, real_joints: np.ndarray, kwargs, message
) -> None:
    args = {"path": "motion.bvh", "joints": real_joints[:10], **kwargs}
    args["path"] = tmp_path / args["path"]
    with pytest.raises(InterSynError, match=message) as info:
        bvh.write_bvh(**args)
    assert "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []  # nothing written, no temporary left behind


def test_zero_length_bone_in_motion_is_rejected() -> None:
    joints = np.zeros((5, NUM_JOINTS, 3))
    with pytest.raises(InterSynError, match="zero median length"):
        bvh.skeleton_offsets_from_motion(joints)


def _find_or_install_blender() -> str | None:
    found = shutil.which("blender")
    can_install = (
        hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get") is not None
    )
    if found or not can_install:
        return found
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "blender"]
    for attempt in ([install], [["apt-get", "update", "-qq"], install]):
        try:
            for command in attempt:
                subprocess.run(command, env=env, capture_output=True, timeout=300, check=True)
        except (subprocess.SubprocessError, OSError):
            continue
        if shutil.which("blender"):
            break
    return shutil.which("blender")


def test_blender_imports_bvh(tmp_path: Path, real_joints: np.ndarray) -> None:
    blender = _find_or_install_blender()
    if blender is None:
        pytest.skip("blender not available")
    people = np.stack([real_joints[:30], real_joints[60:90] + np.array([1.5, 0.0, -0.5])])
    encoded = bvh.write_bvh(tmp_path / "motion.bvh", people, fps=20)
    out = tmp_path / "blender.json"
    files = [str(p) for p in bvh.bvh_paths(tmp_path / "motion.bvh", 2)]
    command = [blender, "-b", "--factory-startup", "--python-exit-code", "1", "--python"]
    result = subprocess.run(
        [*command, str(BLENDER_SCRIPT), "--", str(out), *files],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0 and out.exists(), result.stdout[-2000:] + result.stderr[-2000:]
    imported = json.loads(out.read_text())
    assert [item["armature"] for item in imported] == ["motion", "motion_person2"]
    for person, item in enumerate(imported):
        assert item["objects_created"] == 1 and item["root_bones"] == ["pelvis"]
        assert sorted(item["bones"]) == sorted(JOINT_NAMES)
        assert item["fps"] == pytest.approx(20.0)
        assert (item["frame_start"], item["frame_end"]) == (1, 30)
        order = [item["bones"].index(n) for n in JOINT_NAMES]
        blender_xyz = np.array(item["positions"])[:, order]  # (30, 22, 3), Z up
        # Default import (forward −Z, up Y): (x, y, z)_blender = (x, −z, y)_ours.
        ours = np.stack([blender_xyz[..., 0], blender_xyz[..., 2], -blender_xyz[..., 1]], -1)
        assert np.abs(ours - encoded[person]).max() < 0.01  # measured: ~6e-6 m
