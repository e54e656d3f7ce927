"""Time a 2-person, 196-frame stick-figure render to MP4 and GIF (issue 6's budget: ~1–2 s each).

Run: `python bench/bench_render.py [OUT_DIR]`. Uses the real HumanML3D clip 012314 from
`../shared/data` when present (played forward then backward to 196 frames, the second person
mirrored and shifted), else smooth random poses; prints the best of 3 runs and the file sizes,
then both files from one drawing pass as `intersyn generate` writes them.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from intersyn.export.bvh import axis_rotation, local_rotations_to_joints
from intersyn.export.render import render_frames, render_motion, render_videos
from intersyn.kinematics.skeleton import MIRROR_INDEX, NUM_JOINTS, reference_offsets

FRAMES = 196
SAMPLE = Path(__file__).resolve().parents[2] / "shared/data/humanml3d_sample/new_joints/012314.npy"


def synthetic_motion(frames: int, seed: int = 0) -> np.ndarray:
    """Smoothly swinging random poses walking along +X, `(frames, 22, 3)` metres."""
    rng = np.random.default_rng(seed)
    phase = np.linspace(0, 4 * np.pi, frames)[:, None]
    amplitude = rng.uniform(-0.6, 0.6, (NUM_JOINTS, 3))
    angles = amplitude[None] * np.sin(phase[..., None] + rng.uniform(0, 6, (NUM_JOINTS, 3)))
    local = axis_rotation(angles[..., 0], 0) @ axis_rotation(angles[..., 2], 2)
    root = np.stack([np.linspace(0, 2, frames), np.full(frames, 0.95), np.zeros(frames)], -1)
    return local_rotations_to_joints(root, local, reference_offsets().numpy())


def two_people() -> np.ndarray:
    """`(2, 196, 22, 3)`: one motion and its mirror image 1.5 m to the side."""
    if SAMPLE.exists():
        clip = np.load(SAMPLE).astype(np.float64)
        clip = np.concatenate([clip, clip[::-1]])[:FRAMES]
    else:
        clip = synthetic_motion(FRAMES)
    mirrored = clip[:, list(MIRROR_INDEX)] * np.array([-1.0, 1.0, 1.0]) + np.array([-1.5, 0, 0])
    return np.stack([clip, mirrored])


def best_of(fn, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="bench_render_"))
    joints = two_people()
    captions = ["person 1 serves a tennis ball", "person 2 mirrors it"]
    print(f"input {joints.shape}, source {'012314' if SAMPLE.exists() else 'synthetic'}")
    draw = best_of(lambda: sum(1 for _ in render_frames(joints, captions=captions)))
    print(f"draw only (no encoding):   {draw:.3f} s  ({1000 * draw / FRAMES:.1f} ms/frame)")
    for suffix in ("mp4", "gif"):
        path = out / f"bench.{suffix}"
        seconds = best_of(lambda p=path: render_motion(p, joints, captions=captions, title="bench"))
        print(
            f"render to {suffix.upper()}:            {seconds:.3f} s  {path.stat().st_size / 1e6:.2f} MB  {path}"
        )
    # What `intersyn generate` does: one drawing pass feeding both encoders.
    both = [out / "both.mp4", out / "both.gif"]
    seconds = best_of(lambda: render_videos(both, joints, captions=captions, title="bench"))
    print(f"render to MP4 + GIF:      {seconds:.3f} s  (one drawing pass)")


if __name__ == "__main__":
    main()
