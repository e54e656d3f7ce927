"""The MDM-style baseline of Table 1: a single-person model applied to each person on its own.

Each person of a layout is generated as an independent solo motion (its own noise, no view of
the other): person x from the layout's whole caption, the partner from the interaction
caption(s). The partner's run is then placed `PARTNER_DISTANCE_M` in front of person x,
facing it, at the frame the partner appears — the placement a per-person model cannot learn,
given to it so that the baseline is scored on its motions, not on a missing placement.
"""

from __future__ import annotations

import numpy as np
import torch

from intersyn.kinematics import rotations as rot
from intersyn.kinematics.pair import Placement, frame_pose

# About the mean pelvis distance of the procedural interactions while they touch (0.75 m for a
# handshake, 1.05 m for a high five; reports/interaction_geometry.json).
PARTNER_DISTANCE_M = 1.0


def place_facing(
    person_x: np.ndarray, partner: np.ndarray, start: int, distance: float = PARTNER_DISTANCE_M
) -> np.ndarray:
    """Move `partner (T, 22, 3)` rigidly so that at frame `start` it stands `distance` metres in
    front of `person_x (T, 22, 3)`, facing it; returns the moved copy."""
    x = torch.from_numpy(np.asarray(person_x, dtype=np.float64))
    y = torch.from_numpy(np.asarray(partner, dtype=np.float64))
    pose_x = frame_pose(x[start : start + 1])
    pose_y = frame_pose(y[start : start + 1])
    canonical = pose_y.to_local(y)
    ahead = rot.quat_rotate(rot.yaw_quat(pose_x.heading), torch.tensor([0.0, 0.0, distance]).to(x))
    target = Placement(pose_x.heading + torch.pi, pose_x.origin + ahead)
    return target.to_world(canonical[None])[0].numpy()


def per_person_requests(layouts: list) -> tuple[list, list]:
    """Solo layouts for person x (whole caption) and for the partner (its interaction text)."""
    from intersyn.pipeline import Layout

    def solo(frames: int, text: str) -> Layout:
        return Layout.from_segments(frames, [("solo", 0, frames, text)])

    mine = [solo(lay.frames, lay.caption) for lay in layouts]
    theirs = []
    for lay in layouts:
        texts = [text for kind, _, _, text in lay.segments if kind == "interaction"]
        theirs.append(solo(lay.frames, " ".join(texts) if texts else lay.caption))
    return mine, theirs


def compose_per_person(
    layouts: list, person_x: list[np.ndarray], partners: list[np.ndarray]
) -> list[np.ndarray]:
    """Two-person joints `(2, T, 22, 3)` per layout from independently generated solo motions;
    the partner holds its nearest present pose outside its frames, as generated pairs do."""
    out = []
    for lay, x, y in zip(layouts, person_x, partners, strict=True):
        start, end = lay.partner_start, lay.partner_end
        if end <= start:  # no interaction: the partner stands where the solo one would meet it
            start, end = 0, lay.frames
        placed = place_facing(x, y, start)
        frames = np.arange(lay.frames)
        nearest = np.clip(frames, start, end - 1)
        out.append(np.stack([x, placed[nearest]]).astype(np.float32))
    return out
