"""Do people in motions longer than the model's window stay apart? Closest pelvises, with and
without personal space.

Run: `python bench/long_motion_distance.py [--checkpoint CKPT] [--frames 400] [--samples 2]
--out F`. Generates each interaction text (a hug and the push by default) as `intersyn
generate` does, `--frames` long (overlapping windows), with people kept `--min-distance` apart
(default 0.3 m) and with 0 (the model alone), and reports per sample the closest horizontal
pelvis distance, the frame where it happens, and the seconds each request took. Beyond the
window, continuing partners are moved onto where they were and windows are cross-faded, which
can walk people into each other (README, "Personal space").
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from intersyn import InterSynPipeline
from intersyn.io import write_json

sys.path.insert(0, str(Path(__file__).resolve().parent))
from guidance_options import add_guidance_options, guidance_settings  # noqa: E402

TEXTS = ("two people hug each other", "one person pushes the other, who stumbles backwards")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, default=None, help="default: shipped model")
    parser.add_argument("--text", action="append", help=f"default: {' / '.join(TEXTS)}")
    parser.add_argument("--frames", type=int, default=400)
    parser.add_argument("--samples", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2)
    add_guidance_options(parser)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    pipe = InterSynPipeline.from_pretrained(args.checkpoint)
    settings = guidance_settings(args)
    rows = []
    for text in args.text or TEXTS:
        for distance in (settings["min_distance"], 0.0):
            started = time.perf_counter()
            result = pipe(
                interaction=text,
                frames=args.frames,
                seed=args.seed,
                num_samples=args.samples,
                **{**settings, "min_distance": distance},
            )
            seconds = time.perf_counter() - started
            pelvis = result.joints[:, :, :, 0][..., [0, 2]]
            gaps = np.linalg.norm(pelvis[:, 1] - pelvis[:, 0], axis=-1).astype(float)
            row = {
                "text": text,
                "min_distance": distance,
                "closest_m": np.round(gaps.min(1), 3).tolist(),
                "closest_frame": gaps.argmin(1).tolist(),
                "seconds": round(seconds, 1),
            }
            rows.append(row)
            print(row)
    write_json(
        args.out,
        {
            "checkpoint": str(args.checkpoint or "default"),
            "checkpoint_sha256": pipe.model.sha256,
            "frames": args.frames,
            "window": pipe.window,
            "samples": args.samples,
            "seed": args.seed,
            **settings,
            "rows": rows,
        },
    )


if __name__ == "__main__":
    main()
