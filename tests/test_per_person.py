"""The MDM-style per-person baseline: independent solo generation, partner placed facing x."""

import numpy as np
import torch

from intersyn.evaluation.per_person import PARTNER_DISTANCE_M, compose_per_person, place_facing
from intersyn.kinematics.pair import frame_pose
from intersyn.pipeline import Layout

from .conftest import yaw_and_shift


def _pose(joints: np.ndarray, frame: int):
    pose = frame_pose(torch.from_numpy(joints[frame : frame + 1].astype(np.float64)))
    return float(pose.heading[0]), pose.origin[0].numpy()


def test_partner_stands_in_front_of_person_x_facing_it(real_joints):
    person_x = yaw_and_shift(real_joints, 0.7, (1.0, 0.0, -2.0))
    partner = yaw_and_shift(real_joints[::-1], 2.5, (5.0, 0.0, 3.0))
    placed = place_facing(person_x, partner, start=40)
    heading_x, origin_x = _pose(person_x, 40)
    heading_y, origin_y = _pose(placed, 40)
    ahead = np.array([np.sin(heading_x), 0.0, np.cos(heading_x)])
    np.testing.assert_allclose(origin_y - origin_x, PARTNER_DISTANCE_M * ahead, atol=1e-6)
    assert np.cos(heading_y - heading_x) < -0.999  # facing each other
    # A rigid move: the partner's own motion is unchanged (distances between its joints kept).
    before = np.linalg.norm(partner[:, :, None] - partner[:, None, :], axis=-1)
    after = np.linalg.norm(placed[:, :, None] - placed[:, None, :], axis=-1)
    np.testing.assert_allclose(after, before, atol=1e-6)
    assert np.allclose(placed[:, :, 1], partner[:, :, 1])  # heights kept


def test_compose_holds_the_partner_outside_its_frames(real_joints):
    frames = 60
    layout = Layout.from_segments(
        frames, [("solo", 0, 20, "a person walks"), ("interaction", 20, frames, "two hug")]
    )
    x = real_joints[:frames]
    (pair,) = compose_per_person([layout], [x], [real_joints[10 : 10 + frames]])
    assert pair.shape == (2, frames, 22, 3)
    np.testing.assert_allclose(pair[0], x, atol=1e-6)
    assert np.allclose(pair[1, :20], pair[1, 20])  # absent frames hold the first present pose


def test_pipeline_per_person_mode(tiny_checkpoint):
    from intersyn import InterSynPipeline

    pipe = InterSynPipeline.from_pretrained(tiny_checkpoint)
    layout = Layout.from_segments(
        48, [("solo", 0, 16, "a person walks"), ("interaction", 16, 48, "two people hug")]
    )
    (pair,) = pipe.sample_layouts([layout], seed=0, steps=3, per_person=True)
    assert pair.shape == (2, 48, 22, 3) and np.isfinite(pair).all()
    heading_x, origin_x = _pose(pair[0], 16)
    _, origin_y = _pose(pair[1], 16)
    assert abs(np.linalg.norm(origin_y - origin_x) - PARTNER_DISTANCE_M) < 1e-4
    (again,) = pipe.sample_layouts([layout], seed=0, steps=3, per_person=True)
    np.testing.assert_array_equal(again, pair)
