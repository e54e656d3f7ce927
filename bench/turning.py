"""Does a trained model turn? Root channels of the denoiser, and the heading change of turns.

Two measurements on a checkpoint (default: the shipped model):

1. Root channels: stage-1 training batches (the fixed, seeded batches training itself uses for
   statistics and validation) are noised to step t and denoised once; per channel, the x0
   error is compared with the channel's variance (normalised units). A model that copies
   its input at t = 10 has error ~0 on every channel; a ratio near 1 means the channel is
   predicted at its mean whatever the input (the rotation velocity of
   the shipped model, whose geometric losses integrate the predicted roots over the whole
   clip: `loss.geometric_root`).
2. Turning: for each action whose motion turns the body (turn, walk in a circle, walk and turn
   back, circle around), `--samples` motions are generated from the action's own test
   captions at the lengths of its test clips; the absolute heading change from the first to
   the last frame (pelvis-to-hips direction, degrees) is compared with the real clips'.

    python bench/turning.py --data-root data/procedural [--checkpoint CKPT] --out F
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

from intersyn import features_to_joints
from intersyn.data.build_procedural import items_by_label
from intersyn.io import write_json
from intersyn.pipeline import InterSynPipeline, Layout

sys.path.insert(0, str(Path(__file__).resolve().parent))
from guidance_options import add_guidance_options, guidance_settings  # noqa: E402

TURNING = ("turn", "walk_circle", "walk_and_turn_back")
TURNING_PAIRS = ("circle_around",)
ROOT_CHANNELS = {0: "rotation velocity", 1: "x velocity", 2: "z velocity", 3: "height"}
NOISE_STEPS = (10, 300, 700)
HIPS = (1, 2)  # left, right


def heading_change(joints: np.ndarray) -> float:
    """|heading(last) − heading(first)| in degrees of joints `(T, 22, 3)`, unwrapped over time."""
    across = joints[:, HIPS[1]] - joints[:, HIPS[0]]  # (T, 3)
    angle = np.unwrap(np.arctan2(across[:, 2], across[:, 0]))
    return float(abs(np.degrees(angle[-1] - angle[0])))


def root_channel_errors(pipe: InterSynPipeline, data_root: Path, seed: int) -> dict:
    """x0 error / variance per root channel (and the mean over the RIC position channels)."""
    from intersyn.data.loaders import SourceBank
    from intersyn.training.loop import fixed_batches, load_training_items, plan_data
    from intersyn.training.stages import make_condition

    model, config = pipe.model, pipe.model.config
    solo, pairs = load_training_items(data_root, config)
    plan = plan_data(config, SourceBank.from_items(solo, pairs), solo, "ins")
    batches = fixed_batches(plan, 2, 32)
    generator = torch.Generator().manual_seed(seed)
    out: dict[str, dict[str, float]] = {}
    with torch.inference_mode():
        for t in NOISE_STEPS:
            errors, variances = [], []
            for batch in batches:
                mask = batch.presence & batch.valid[:, None, :]
                x0 = torch.where(mask[..., None], model.stats.normalize(batch.motion), 0.0)
                cond = make_condition(
                    batch,
                    pipe.text,
                    torch.zeros(len(batch.captions), dtype=torch.bool),
                    pipe.device,
                )
                steps = torch.full((x0.shape[0],), t)
                noise = torch.randn(x0.shape, generator=generator)
                x_t = torch.where(mask[..., None], pipe.schedule.q_sample(x0, steps, noise), 0.0)
                pred = model.denoiser(x_t, steps, cond, batch.presence, batch.valid)
                errors.append(((pred - x0) ** 2)[mask])
                variances.append((x0**2)[mask])
            error, variance = torch.cat(errors).mean(0), torch.cat(variances).mean(0)
            row = {
                name: round(float(error[c] / variance[c]), 3) for c, name in ROOT_CHANNELS.items()
            }
            row["ric positions"] = round(float(error[4:67].sum() / variance[4:67].sum()), 3)
            out[f"t={t}"] = row
    return out


def turning(
    pipe: InterSynPipeline,
    data_root: Path,
    samples: int,
    seed: int,
    **sampling: float | int | None,
) -> dict:
    solo_items, pair_items = items_by_label(data_root, "test", samples)
    rows = {}
    for name in TURNING + TURNING_PAIRS:
        items = (solo_items if name in TURNING else pair_items)[name]
        kind = "solo" if name in TURNING else "interaction"
        if kind == "solo":
            real = [
                np.asarray(features_to_joints(item.load_features().astype(np.float64)))
                for item in items
            ]
            captions = [item.captions[0].text for item in items]
        else:  # person x of the pair
            real = [np.asarray(item.load_joints())[0] for item in items]
            captions = [item.captions[0] for item in items]
        frames = [min(len(j), pipe.window) for j in real]
        layouts = [
            Layout.from_segments(n, [(kind, 0, n, text)])
            for n, text in zip(frames, captions, strict=True)
        ]
        generated = pipe.sample_layouts(layouts, seed=seed, **sampling)
        real_turn = [heading_change(j) for j in real]
        generated_turn = [heading_change(m[0]) for m in generated]
        rows[name] = {
            "real_median_deg": round(float(np.median(real_turn)), 1),
            "generated_median_deg": round(float(np.median(generated_turn)), 1),
            "real_deg": [round(v) for v in real_turn],
            "generated_deg": [round(v) for v in generated_turn],
            "captions": captions,
        }
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, default=None, help="default: shipped model")
    parser.add_argument("--data-root", type=Path, required=True)
    parser.add_argument("--samples", type=int, default=8, help="test clips per action")
    parser.add_argument("--seed", type=int, default=0)
    add_guidance_options(parser, scale=False, max_step=False)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    started = time.perf_counter()
    pipe = InterSynPipeline.from_pretrained(args.checkpoint)
    result = {
        "checkpoint": str(pipe.checkpoint),
        "checkpoint_sha256": pipe.model.sha256,
        **guidance_settings(args),
        "root_channel_error_over_variance": root_channel_errors(pipe, args.data_root, args.seed),
        "heading_change": turning(
            pipe, args.data_root, args.samples, args.seed, **guidance_settings(args)
        ),
    }
    result["seconds"] = round(time.perf_counter() - started, 1)
    write_json(args.out, result)
    for t, row in result["root_channel_error_over_variance"].items():
        print(f"{t:6s} " + "  ".join(f"{k} {v:.2f}" for k, v in row.items()))
    for name, row in result["heading_change"].items():
        print(
            f"{name:20s} heading change: generated {row['generated_median_deg']:6.1f} deg, "
            f"real {row['real_median_deg']:6.1f} deg (medians)"
        )
    print(f"wrote {args.out} in {result['seconds']} s")


if __name__ == "__main__":
    main()
