"""InterHuman per-person feature and the InterSyn pair feature in person x's frame."""

import numpy as np
import pytest
import torch

from intersyn import InterSynError
from intersyn.kinematics import rotations as rot
from intersyn.kinematics.pair import (
    IH_SLICES,
    PAIR_FEATURE_DIM,
    features_to_pair,
    interhuman_features_to_joints,
    interhuman_joints_to_features,
    interhuman_pair_features,
    joints_to_raw_interhuman,
    pair_to_features,
    raw_interhuman_to_joints,
)
from intersyn.kinematics.representation import joints_to_features

from .conftest import yaw_and_shift

MM = 1e-3


@pytest.fixture(scope="module")
def pair(real_joints) -> np.ndarray:
    a = yaw_and_shift(real_joints, 0.7, (1.0, 0.0, -2.0))
    b = yaw_and_shift(real_joints[::-1], 2.5, (0.3, 0.05, 1.5))
    return np.stack([a, b])


def test_pair_round_trip_restores_world_frame(pair):
    features, frame = pair_to_features(pair, return_frame=True)
    assert features.shape == (2, 169, PAIR_FEATURE_DIM)
    back = features_to_pair(features, frame=frame)
    err = np.abs(back - pair[:, :-1]).max()
    assert err < MM * 1e-3, f"round trip error {err:.2e} m"


def test_pair_round_trip_keeps_relative_placement(pair):
    features = pair_to_features(pair)
    local = features_to_pair(features)  # person x's canonical frame
    # Person x starts at the origin facing +Z; the relative placement equals the world one.
    assert np.allclose(local[0, 0, 0, [0, 2]], 0.0, atol=1e-9)
    world_offsets = pair[1, :-1] - pair[0, :-1, :1]
    local_offsets = local[1] - local[0, :, :1]
    assert np.allclose(
        np.linalg.norm(world_offsets, axis=-1), np.linalg.norm(local_offsets, axis=-1), atol=1e-9
    )
    # The common floor is kept: both people share the world's lowest point.
    assert np.isclose(local[..., 1].min(), 0.0, atol=1e-9)


def test_person_features_are_the_single_person_feature(pair):
    features = pair_to_features(pair)
    assert np.allclose(features[0, :, :263], joints_to_features(pair[0]), atol=1e-9)
    assert np.allclose(features[0, :, 263:], [1.0, 0.0, 0.0, 0.0], atol=1e-9)


def test_presence_runs_round_trip(pair):
    # Person y present in two separate runs (as in an s-i-s-i sample), absent elsewhere.
    presence = np.ones(pair.shape[:2], dtype=bool)
    presence[1, :40] = False
    presence[1, 90:120] = False
    features, rows = pair_to_features(pair, presence=presence)
    assert features.shape == (2, 169, PAIR_FEATURE_DIM) and rows.shape == (2, 169)
    assert np.array_equal(rows[1], presence[1, :-1] & presence[1, 1:])
    assert np.all(features[1, ~rows[1]] == 0.0)
    garbage = features.copy()
    garbage[1, ~rows[1]] = 99.0  # whatever sits in absent rows must be ignored
    back = features_to_pair(garbage, presence=rows)
    reference = features_to_pair(pair_to_features(pair))
    present = rows.astype(bool)
    err = np.abs(back - reference)[present].max()
    assert err < 1e-9, f"{err:.2e}"
    assert np.all(back[1, ~present[1]] == 0.0)


@pytest.mark.parametrize("anchor", ["sequence", "run", "run_end"])
def test_runs_are_encoded_as_if_alone(pair, anchor):
    # Each present run is encoded on its own: its rows depend only on its own frames, not on
    # the frames around it, the person's other runs or the other samples of the batch.
    presence = np.ones(pair.shape[:2], dtype=bool)
    presence[1, :40] = False
    presence[1, 90:120] = False  # partner runs [40, 90) and [120, 170): shorter than person 0
    features, rows = pair_to_features(pair, presence=presence, anchor=anchor)
    # Frames where a person is absent never leak into the present rows.
    scrambled = pair.copy()
    scrambled[~presence] = np.random.default_rng(0).normal(size=scrambled[~presence].shape)
    np.testing.assert_allclose(
        pair_to_features(scrambled, presence=presence, anchor=anchor)[0][rows],
        features[rows],
        atol=1e-9,
    )
    frame_x = presence.copy()
    frame_x[1] = False
    alone_x, _ = pair_to_features(pair, presence=frame_x, anchor=anchor)
    np.testing.assert_allclose(features[0], alone_x[0], atol=1e-9)
    for start, end in ((40, 90), (120, 170)):
        one_run = np.zeros_like(presence)
        one_run[0] = True
        one_run[1, start:end] = True
        alone, _ = pair_to_features(pair, presence=one_run, anchor=anchor)
        np.testing.assert_allclose(
            features[1, start : end - 1], alone[1, start : end - 1], atol=1e-9
        )
    # A batch of differently masked samples gives each sample's own features.
    other = np.ones_like(presence)
    other[1, 150:] = False
    batched, batched_rows = pair_to_features(
        np.stack([pair, pair]), presence=np.stack([presence, other]), anchor=anchor
    )
    alone_other, _ = pair_to_features(pair, presence=other, anchor=anchor)
    np.testing.assert_allclose(batched[0], features, atol=1e-9)
    np.testing.assert_allclose(batched[1], alone_other, atol=1e-9)
    assert batched_rows.shape == (2, 2, pair.shape[1] - 1)


def test_presence_requires_reference_at_frame_zero(pair):
    presence = np.ones(pair.shape[:2], dtype=bool)
    presence[0, 0] = False
    with pytest.raises(InterSynError, match="person 0 must be present at frame 0"):
        pair_to_features(pair, presence=presence)


def test_pair_batched_and_torch(pair):
    batch = torch.from_numpy(np.stack([pair, pair[::-1].copy()]))
    features = pair_to_features(batch)
    assert isinstance(features, torch.Tensor) and features.shape == (2, 2, 169, 267)
    assert torch.allclose(features[0], torch.from_numpy(pair_to_features(pair)), atol=1e-12)


def test_pair_bad_input(pair):
    with pytest.raises(InterSynError, match="person axis"):
        pair_to_features(pair[0])
    with pytest.raises(InterSynError, match="22, 3"):
        pair_to_features(pair[0, :, 0])
    with pytest.raises(InterSynError, match="267"):
        features_to_pair(np.zeros((2, 10, 263)))
    with pytest.raises(InterSynError, match="presence"):
        features_to_pair(pair_to_features(pair), presence=np.ones((2, 5), bool))


def test_interhuman_feature_layout(real_joints):
    joints = yaw_and_shift(real_joints, -0.4, (2.0, 0.3, 1.0))
    features = interhuman_joints_to_features(joints)
    assert features.shape == (169, 262)
    positions = interhuman_features_to_joints(features)
    # Own floor, frame-0 root at the origin, hips facing +Z (REFERENCE.md §2.3).
    assert np.isclose(positions[..., 1].min(), 0.0, atol=1e-9)
    assert np.allclose(positions[0, 0, [0, 2]], 0.0, atol=1e-9)
    across = positions[0, 2] - positions[0, 1]
    assert abs(across[2]) < 1e-9 and across[0] < 0
    velocities = features[:, IH_SLICES.velocities].reshape(-1, 22, 3)
    assert np.allclose(velocities[:-1], positions[1:] - positions[:-1], atol=1e-9)
    contacts = features[:, IH_SLICES.foot_contacts]
    assert set(np.unique(contacts)) <= {0.0, 1.0} and contacts.mean() > 0.3
    # Rotations are yaw-invariant (chain-local), so they match the unrotated clip's.
    plain = interhuman_joints_to_features(real_joints.astype(np.float64))
    assert np.allclose(
        features[:, IH_SLICES.rotations_6d], plain[:, IH_SLICES.rotations_6d], atol=1e-6
    )


def test_interhuman_pair_places_b_in_a_frame(pair):
    features = interhuman_pair_features(pair[0], pair[1])
    assert features.shape == (2, 169, 262)
    a_pos = interhuman_features_to_joints(features[0])
    b_pos = interhuman_features_to_joints(features[1])
    # Expected: B's world joints in A's canonical frame, on B's own floor.
    a = pair[0]
    across = a[0, 2] - a[0, 1]
    psi = np.arctan2(across[2], -across[0])  # heading of forward = Y × across
    m = rot.yaw_matrix(torch.tensor(-psi, dtype=torch.float64)).numpy()
    origin = np.array([a[0, 0, 0], 0.0, a[0, 0, 2]])
    expected_b = (pair[1, :-1] - origin) @ m.T
    expected_b[..., 1] -= pair[1][..., 1].min()
    assert np.abs(b_pos - expected_b).max() < 1e-9
    assert np.allclose(a_pos[0, 0, [0, 2]], 0.0, atol=1e-9)


def test_raw_interhuman_file_round_trip(real_joints):
    raw = joints_to_raw_interhuman(real_joints.astype(np.float64))
    assert raw.shape == (170, 312)
    # Z-up on disk: the file's z column is the Y-up height.
    assert np.allclose(raw[:, 2], real_joints[:, 0, 1])
    joints, rot6d = raw_interhuman_to_joints(raw)
    assert np.abs(joints - real_joints).max() < 1e-6 and rot6d.shape == (170, 21, 6)
    with pytest.raises(InterSynError, match="312"):
        raw_interhuman_to_joints(np.zeros((10, 200)))


def test_run_anchor_places_a_late_partner_relative_to_person_x_then():
    from intersyn.data.procedural import generate_pair_clip
    from intersyn.kinematics.pair import pair_to_features as encode

    clip = np.asarray(generate_pair_clip("shake_hands", np.random.default_rng(0), fps=20).joints)
    clip = clip.astype(np.float64)
    on_their_own = np.asarray(encode(clip))[1, 0, -4:]  # the partner's placement, both from frame 0
    # Person x first slides in from 3 m away for 30 frames; the partner appears at frame 30.
    prefix = 30
    offsets = np.linspace(1.0, 0.0, prefix, endpoint=False)[:, None, None] * np.array(
        [2.0, 0.0, -2.2]
    )
    x = np.concatenate([clip[0, :1] + offsets, clip[0]])
    y = np.concatenate([np.zeros((prefix, 22, 3)), clip[1]])
    joints = np.stack([x, y])
    presence = np.ones(joints.shape[:2], dtype=bool)
    presence[1, :prefix] = False
    for anchor in ("sequence", "run"):
        feats, rows, frame = encode(joints, presence=presence, anchor=anchor, return_frame=True)
        back = features_to_pair(feats, presence=presence[:, :-1], anchor=anchor, frame=frame)
        back = np.asarray(back)
        np.testing.assert_allclose(
            back[presence[:, :-1]], joints[:, :-1][presence[:, :-1]], atol=1e-4
        )
        placement = np.asarray(feats)[1, prefix, -4:]
        if anchor == "run":
            np.testing.assert_allclose(placement, on_their_own, atol=1e-5)
        else:
            assert np.abs(placement[2:] - on_their_own[2:]).max() > 2.0  # measured from frame 0
    with pytest.raises(InterSynError, match="anchor: expected one of"):
        encode(joints, presence=presence, anchor="start")
    # Differentiable: a gradient reaches the partner's placement through person x's pose.
    feats = torch.as_tensor(np.asarray(encode(joints, presence=presence, anchor="run")[0]))
    feats = feats.float().requires_grad_(True)
    from intersyn.kinematics.pair import decode_pair

    present = torch.as_tensor(presence[:, :-1])
    decode_pair(feats[None], present[None], "run")[0, 1].sum().backward()
    assert feats.grad[0].abs().sum() > 0  # person x's features move the partner


def test_run_end_anchor_places_where_the_pair_stands_at_the_end():
    from intersyn.data.procedural import generate_pair_clip
    from intersyn.kinematics.pair import decode_pair, frame_pose
    from intersyn.kinematics.pair import pair_to_features as encode

    clip = np.asarray(generate_pair_clip("pull", np.random.default_rng(1), fps=20).joints)
    clip = clip.astype(np.float64)
    frames = clip.shape[1]
    # Everyone present: the partner's placement is its pose at the last feature row's frame
    # (T - 2) in person x's pose then, on every row.
    feats, frame = encode(clip, anchor="run_end", return_frame=True)
    feats = np.asarray(feats)
    x_end, y_end = (frame_pose(torch.as_tensor(clip[k, -2])[None]) for k in (0, 1))
    heading = float(y_end.heading - x_end.heading)
    offset = (y_end.origin - x_end.origin)[0].numpy()
    c, s = np.cos(float(x_end.heading)), np.sin(float(x_end.heading))
    expected = [
        np.cos(heading),
        np.sin(heading),
        c * offset[0] - s * offset[2],
        s * offset[0] + c * offset[2],
    ]
    np.testing.assert_allclose(
        feats[1, :, -4:], np.broadcast_to(expected, (frames - 1, 4)), atol=1e-6
    )
    np.testing.assert_allclose(feats[0], np.asarray(encode(clip, anchor="run"))[0], atol=1e-9)
    back = np.asarray(features_to_pair(feats, anchor="run_end", frame=frame))
    np.testing.assert_allclose(back, clip[:, :-1], atol=1e-6)
    # A partner who appears late and leaves early decodes back exactly too.
    presence = np.ones(clip.shape[:2], dtype=bool)
    presence[1, :25] = False
    presence[1, -10:] = False
    feats, rows, frame = encode(clip, presence=presence, anchor="run_end", return_frame=True)
    back = np.asarray(features_to_pair(feats, presence=rows, anchor="run_end", frame=frame))
    np.testing.assert_allclose(back[rows], clip[:, :-1][rows], atol=1e-6)
    # Its walk no longer moves where it ends: a partner whose walk is scaled down ends where
    # it did and starts elsewhere.
    short = np.asarray(feats).copy()
    short[1, :, 1:3] *= 0.5  # its root's x / z velocities
    moved = np.asarray(features_to_pair(short, presence=rows, anchor="run_end", frame=frame))
    last = int(np.flatnonzero(rows[1])[-1])
    first = int(np.flatnonzero(rows[1])[0])
    assert np.abs(moved[1, last, 0] - back[1, last, 0]).max() < 1e-6
    assert np.abs(moved[1, first, 0] - back[1, first, 0]).max() > 0.01
    # Differentiable, with no NaN from the absent rows' zero poses.
    feats = torch.as_tensor(np.asarray(feats)).float().requires_grad_(True)
    joints = decode_pair(feats[None], torch.as_tensor(rows)[None], "run_end")
    joints[0, 1].sum().backward()
    assert torch.isfinite(feats.grad).all() and feats.grad[0].abs().sum() > 0
