"""Time joints → 263-dim features and back on 256 clips × 196 frames (issue 2's budget: < 2 s).

Run: `python bench/bench_representation.py`. Uses smooth random poses built by forward
kinematics, so it needs no data files.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from intersyn import features_to_joints, joints_to_features
from intersyn.kinematics import rotations as rot
from intersyn.kinematics.fk import forward_kinematics
from intersyn.kinematics.skeleton import NUM_JOINTS, reference_offsets


def random_motion(clips: int, frames: int, seed: int = 0) -> np.ndarray:
    """Smoothly varying random poses walking along random paths, `(clips, frames, 22, 3)` float32."""
    g = torch.Generator().manual_seed(seed)
    keys = torch.randn(clips, 8, NUM_JOINTS, 3, generator=g, dtype=torch.float64) * 0.3
    t = torch.linspace(0, 7, frames, dtype=torch.float64)
    lo = t.floor().long().clamp(max=6)
    w = (t - lo)[None, :, None, None]
    axis_angle = keys[:, lo] * (1 - w) + keys[:, lo + 1] * w
    local = rot.axis_angle_to_quat(axis_angle)
    root = torch.cumsum(torch.randn(clips, frames, 3, generator=g, dtype=torch.float64) * 0.01, 1)
    root[..., 1] = 0.9
    return forward_kinematics(local, root, reference_offsets()).float().numpy()


def timed(fn, *args, repeats: int = 3) -> float:
    fn(*args)  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn(*args)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    torch.set_num_threads(max(1, torch.get_num_threads()))
    joints = random_motion(256, 196)
    features = joints_to_features(joints)
    print(f"threads={torch.get_num_threads()}  input {joints.shape} float32")
    print(f"joints_to_features numpy (float64 inside): {timed(joints_to_features, joints):.3f} s")
    print(
        f"joints_to_features torch float32:          "
        f"{timed(joints_to_features, torch.from_numpy(joints)):.3f} s"
    )
    print(f"features_to_joints numpy:                  {timed(features_to_joints, features):.3f} s")


if __name__ == "__main__":
    main()
