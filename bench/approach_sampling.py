"""Why generated pairs do not finish an approach ("after approaching each other, two people
shake hands"): the same test captions measured three ways.

1. `generated`: DDIM-50 with guidance as users sample (raw, no clean-up), per clip at the real
   clip's length: pelvis distance at 0 / 25 / 50 / 75 / 100 % of the clip, both people's
   summed root path, the share of frames where a root moves faster than 0.3 m/s, and the
   closest the two people's wrists come (and the share within 10 cm); `--guidance` and
   `--guidance-max-step` as `intersyn generate` takes them.
2. `from_noised_data`: the denoiser's x0 prediction (text condition, no guidance) from the
   real clip's features noised to step t: does the model know the approach when x_t still
   holds some of it?
3. `along_sampling`: the x0 prediction at every 5th step (t = 999, 899, …, 99, and the last,
   19) of one unguided run of the pipeline's DDIM-50 sampler from pure noise: when are the
   start distance and the walked path decided?

    python bench/approach_sampling.py --data-root data/procedural [--checkpoint CKPT] \
        [--per-class 8] [--guidance-max-step T] --out F
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from guidance_options import add_guidance_options, guidance_settings  # noqa: E402
from interaction_geometry import APPROACH_WORDS, HANDS_MEET, real_clips  # noqa: E402
from interleaved_meeting import closest_hands  # noqa: E402
from intersyn.diffusion import ddim_sample  # noqa: E402
from intersyn.io import write_json  # noqa: E402
from intersyn.kinematics.pair import pair_to_features  # noqa: E402
from intersyn.pipeline import (  # noqa: E402
    FPS,
    InterSynPipeline,
    Layout,
    _decode,
)

FRACTIONS = (0.0, 0.25, 0.5, 0.75, 1.0)
MOVING_SPEED = 0.3  # m/s: a root faster than this is walking
NOISED_STEPS = (100, 500, 900, 950, 980, 999)


def pair_measures(joints: np.ndarray, fps: float) -> dict[str, list[float] | float]:
    """Pelvis distances over the clip, summed root path of both people, share of moving frames,
    and the closest the two people's wrists come (and whether within 10 cm), of one pair
    `(2, T, 22, 3)`."""
    root = joints[:, :, 0][..., [0, 2]]
    pelvis = np.linalg.norm(root[0] - root[1], axis=-1)
    steps = np.linalg.norm(np.diff(root, axis=1), axis=-1)  # (2, T-1)
    last = len(pelvis) - 1
    closest = closest_hands(joints)
    return {
        "pelvis_distance": [float(pelvis[round(f * last)]) for f in FRACTIONS],
        "root_path": float(steps.sum()),
        "moving": float((steps * fps > MOVING_SPEED).mean()),
        "closest_wrists": closest,
        "wrists_within_10cm": float(closest < 0.10),
    }


def mean_measures(rows: list[dict]) -> dict:
    return {key: np.round(np.mean([r[key] for r in rows], axis=0), 3).tolist() for key in rows[0]}


def decode(pipe: InterSynPipeline, normalised: torch.Tensor) -> np.ndarray:
    """Joints `(N, 2, T, 22, 3)` of normalised pair features `(N, 2, T, D)`, both present."""
    features = pipe.model.stats.denormalize(normalised).numpy()
    return _decode(features, np.ones(features.shape[:3], dtype=bool), pipe.anchor)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, default=None, help="default: shipped model")
    parser.add_argument("--data-root", type=Path, required=True)
    parser.add_argument("--per-class", type=int, default=8, help="test clips per interaction")
    add_guidance_options(parser)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    started = time.perf_counter()
    torch.manual_seed(args.seed)
    real = real_clips(args.data_root, args.per_class)
    clips = [
        (joints, caption)
        for name in HANDS_MEET
        for joints, caption in real[name]
        if any(w in caption for w in APPROACH_WORDS)
    ]
    pipe = InterSynPipeline.from_pretrained(args.checkpoint)
    fps = float(FPS)
    layouts = [
        Layout.from_segments(j.shape[1], [("interaction", 0, j.shape[1], c)]) for j, c in clips
    ]
    generated = pipe.sample_layouts(
        layouts,
        seed=args.seed,
        **guidance_settings(args),
        cleanup=None,
        progress=True,
    )
    result: dict = {
        "checkpoint": str(args.checkpoint or "default"),
        **guidance_settings(args),
        "clips": len(clips),
        "real": mean_measures([pair_measures(j, fps) for j, _ in clips]),
        "generated": mean_measures([pair_measures(j, fps) for j in generated]),
    }
    model, schedule = pipe.model, pipe.schedule
    noised: dict[int, list[dict]] = {t: [] for t in NOISED_STEPS}
    with torch.inference_mode():
        for (joints, _), layout in zip(clips, layouts):
            frames = joints.shape[1] - 1
            everyone = np.ones((1, 2, frames + 1), dtype=bool)
            features = pair_to_features(
                torch.from_numpy(joints[None]).double(), presence=everyone, anchor=pipe.anchor
            )[0]
            x0 = model.stats.normalize(features.float())
            cond, _ = pipe._condition([layout])
            present = torch.ones(1, 2, frames, dtype=torch.bool)
            valid = torch.ones(1, frames, dtype=torch.bool)
            for t in NOISED_STEPS:
                x_t = schedule.q_sample(x0, t, torch.randn_like(x0))
                pred = model.denoiser(x_t, torch.tensor([t]), cond, present, valid)
                noised[t].append(pair_measures(decode(pipe, pred)[0], fps))
        result["from_noised_data"] = {t: mean_measures(rows) for t, rows in noised.items()}
        # One unguided DDIM-50 run over all clips at the shortest clip's length.
        frames = min(j.shape[1] for j, _ in clips) - 1
        cond, _ = pipe._condition(
            [Layout.from_segments(frames, [("interaction", 0, frames, c)]) for _, c in clips]
        )
        n = len(clips)
        present = torch.ones(n, 2, frames, dtype=torch.bool)
        valid = torch.ones(n, frames, dtype=torch.bool)
        along = {}

        def recording(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            """The denoiser, noting the x0 of every 5th of the sampler's steps."""
            x0 = model.denoiser(x_t, t, cond, present, valid)
            step = int(t[0])
            if step % 100 == 99 or step == 19:  # the trailing 50-step grid: 999, 979, ..., 19
                along[step] = mean_measures([pair_measures(j, fps) for j in decode(pipe, x0)])
            return x0

        shape = (n, 2, frames, model.config.model.feature_dim)
        generator = torch.Generator().manual_seed(args.seed)
        ddim_sample(recording, shape, schedule, 50, generator=generator, progress=False)
        result["along_sampling"] = along
    result["seconds"] = round(time.perf_counter() - started, 1)
    for name in ("real", "generated"):
        row = result[name]
        print(
            f"{name:>10s}: pelvis {row['pelvis_distance']} m, path {row['root_path']:.2f} m, "
            f"moving {row['moving']:.3f}, wrists within 10 cm {row['wrists_within_10cm']:.2f}"
        )
    for label, rows in (("x0 from data noised to t", noised), ("x0 along sampling, t", along)):
        print(label)
        for t, row in result["from_noised_data" if rows is noised else "along_sampling"].items():
            start, end = row["pelvis_distance"][0], row["pelvis_distance"][-1]
            print(f"  {t:4d}: start {start:.2f} m, end {end:.2f} m, path {row['root_path']:.2f} m")
    if args.out:
        write_json(args.out, result)


if __name__ == "__main__":
    main()
