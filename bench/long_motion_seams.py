"""Do motions longer than the model's window show where their windows meet?

Run: `python bench/long_motion_seams.py [--checkpoint CKPT] [--frames 400] [--samples 2]
--out F`. Generates a few requests as `intersyn generate` does (a solo walk and jog, a walk
into a hug, a hug of three people), `--frames` long (overlapping windows, `window_starts`),
and reports per request the largest frame-to-frame step of any person's pelvis (horizontal)
and of any joint, next to each window's last frame (where the next window takes over alone)
and everywhere else. A seam is a step at the joins well above the steps elsewhere. Until
session 45 every long motion jumped metres at the end of its first window (the overlap's last
feature row was read against a frame not made yet: 3.7–10.7 m in the raw output, 1.0–5.1 m
per frame here, after the clean-up's smoothing).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from intersyn import InterSynPipeline
from intersyn.io import write_json
from intersyn.pipeline import window_starts

sys.path.insert(0, str(Path(__file__).resolve().parent))
from guidance_options import add_guidance_options, guidance_settings  # noqa: E402

REQUESTS = {
    "walk": dict(solo="a person walks forward"),
    "jog": dict(solo="a person jogs forward"),
    "walk_then_hug": dict(
        solo="a person walks forward", interaction="two people hug", interaction_start=60
    ),
    "hug_of_three": dict(interaction="two people hug", people=3),
}
NEAR = 2  # frames either side of a join that count as "at the join"


def steps_at_joins(joints: np.ndarray, presence: np.ndarray, joins: list[int]) -> dict:
    """Largest steps (m per frame) of joints `(N, P, T, 22, 3)` at `joins` (frame indices where
    a step from frame j - 1 to j may show a seam) and elsewhere, over present frames."""
    moving = presence[:, 1:] & presence[:, :-1]  # (P, T - 1): steps between present frames
    pelvis = np.linalg.norm(np.diff(joints[..., 0, :], axis=2)[..., [0, 2]], axis=-1)
    body = np.linalg.norm(np.diff(joints, axis=2), axis=-1).max(-1)  # (N, P, T - 1)
    near = np.zeros(moving.shape[1], dtype=bool)
    for j in joins:
        near[max(0, j - 1 - NEAR) : j + NEAR] = True
    result = {}
    for name, step in (("pelvis", pelvis), ("any_joint", body)):
        at = np.where(moving & near, step, 0.0)
        away = step[:, moving & ~near]
        result[f"{name}_at_joins_m"] = round(float(at.max()), 4)
        result[f"{name}_elsewhere_max_m"] = round(float(away.max()), 4)
        result[f"{name}_elsewhere_p99_m"] = round(float(np.percentile(away, 99)), 4)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, default=None, help="default: shipped model")
    parser.add_argument("--frames", type=int, default=400)
    parser.add_argument("--samples", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    add_guidance_options(parser)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    pipe = InterSynPipeline.from_pretrained(args.checkpoint)
    starts = window_starts(args.frames, pipe.window, pipe.overlap)
    joins = [start + pipe.window for start in starts[:-1]]  # previous window's end
    rows = {}
    for name, request in REQUESTS.items():
        started = time.perf_counter()
        result = pipe(
            **request,
            frames=args.frames,
            seed=args.seed,
            num_samples=args.samples,
            **guidance_settings(args),
        )
        seconds = time.perf_counter() - started
        rows[name] = {
            **request,
            **steps_at_joins(result.joints, result.presence, joins),
            "seconds": round(seconds, 1),
        }
        print(name, rows[name], flush=True)
    write_json(
        args.out,
        {
            "checkpoint_sha256": pipe.model.sha256,
            "frames": args.frames,
            "samples": args.samples,
            "seed": args.seed,
            "window": pipe.window,
            "window_starts": starts,
            "joins": joins,
            "near_frames": NEAR,
            **guidance_settings(args),
            "requests": rows,
        },
    )


if __name__ == "__main__":
    main()
