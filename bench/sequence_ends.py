"""Do motions come to rest where they end, and at what pace do they move? Locomotion speed
over the sequence.

Every procedural clip starts and ends at rest. Two measurements:

1. The model (default: the shipped checkpoint): for each locomotion action, motions are
   generated from the action's own test captions at the lengths of its test clips, and the
   pelvis's horizontal speed is averaged per tenth of the sequence, beside the real clips'
   (raw model output: the clean-up moves the root by millimetres), and the pace (the mean over
   the middle six tenths) against the real clips' (`pace_ratio`). `--guidance`,
   `--guidance-max-step` and `--guidance-parallel` sample as `intersyn generate` does with
   them: classifier-free guidance at the noisiest steps puts the shipped model's pace 5–15 %
   above the data's (README, "Guidance interval", "Projected guidance").
2. The training data: stage-1 U(·) samples whose last segment is one of those actions (the
   layouts that end on a solo segment, drawn as training draws them); the speed over the last
   tenth of that segment against its middle tenth, how many end at rest, and how many end
   because the clip ended (the sequence is then padded) rather than because the segment's
   random window did, and how many are marked as ending there (`InterleavedSample.ends`, what
   a model with `end_positions` is told). Solo-clip batches (half of stage 1) always show the
   whole clip, so they always end at rest. `--draws 0` skips this part.

    python bench/sequence_ends.py --data-root data/procedural [--checkpoint CKPT] \
        [--guidance-max-step 959] --out F
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from intersyn import features_to_joints
from intersyn.data.build_procedural import items_by_label
from intersyn.data.loaders import SourceBank
from intersyn.io import write_json
from intersyn.pipeline import InterSynPipeline, Layout
from intersyn.training.loop import load_training_items

sys.path.insert(0, str(Path(__file__).resolve().parent))
from guidance_options import add_guidance_options, guidance_settings  # noqa: E402

LOCOMOTION = ("walk", "jog", "run", "walk_backwards")
LOCOMOTION_WORDS = ("walk", "jog", "run", "backward")  # in the captions of those actions
REST = 0.5  # m/s: slower than this over the last tenth counts as at rest
FPS = 20
PACE_TENTHS = slice(2, 8)  # the middle six tenths: under way, past starting and stopping


def tenths(joints: np.ndarray) -> np.ndarray:
    """Mean horizontal pelvis speed (m/s) in each tenth of `joints (T, 22, 3)`."""
    speed = np.linalg.norm(np.diff(joints[:, 0][:, [0, 2]], axis=0), axis=1) * FPS
    return np.array([speed[part].mean() for part in np.array_split(np.arange(len(speed)), 10)])


def model_profiles(
    pipe: InterSynPipeline, data_root: Path, samples: int, seed: int, **sampling: Any
) -> dict:
    """Per action: speed per tenth of the real test clips and of motions generated from their
    captions at their lengths (`sampling`: `guidance`, `guidance_max_step`,
    `guidance_parallel`), and the pace."""
    solo_items, _ = items_by_label(data_root, "test", samples)
    rows = {}
    for name in LOCOMOTION:
        items = solo_items[name]
        real = [
            tenths(np.asarray(features_to_joints(item.load_features().astype(np.float64))))
            for item in items
        ]
        frames = [min(len(item.load_features()) + 1, pipe.window) for item in items]
        layouts = [
            Layout.from_segments(n, [("solo", 0, n, item.captions[0].text)])
            for n, item in zip(frames, items)
        ]
        generated = [
            tenths(m[0])
            for m in pipe.sample_layouts(layouts, seed=seed, batch_size=len(layouts), **sampling)
        ]
        real_pace = float(np.mean(real, 0)[PACE_TENTHS].mean())
        pace = float(np.mean(generated, 0)[PACE_TENTHS].mean())
        rows[name] = {
            "real_m_s": np.mean(real, 0).astype(float).round(3).tolist(),
            "generated_m_s": np.mean(generated, 0).astype(float).round(3).tolist(),
            "real_last_tenth_at_rest": float(np.mean([r[-1] < REST for r in real])),
            "generated_last_tenth_at_rest": float(np.mean([g[-1] < REST for g in generated])),
            "real_pace_m_s": round(real_pace, 3),
            "generated_pace_m_s": round(pace, 3),
            "pace_ratio": round(pace / real_pace, 3),
        }
    return rows


def training_ends(pipe: InterSynPipeline, data_root: Path, draws: int) -> dict:
    """How U(·) samples that end on a locomotion segment end (see the module docstring)."""
    cfg = pipe.model.config
    bank = SourceBank.from_items(*load_training_items(data_root, cfg))
    layouts = cfg.data.layouts or ((cfg.data.interleave.organisation, cfg.data.interleave.timing),)
    ending_on_solo = [(o, t) for o, t in layouts if o.split("-")[-1] == "s"]
    last, middle, padded, told = [], [], [], []
    for index in range(draws):
        organisation, timing = ending_on_solo[index % len(ending_on_solo)]
        config = dataclasses.replace(cfg.data.interleave, organisation=organisation, timing=timing)
        sample = bank.sample(np.random.default_rng([cfg.seed, index]), config)
        segment = sample.segments[-1]
        if segment.kind != "solo" or not any(w in segment.caption for w in LOCOMOTION_WORDS):
            continue
        stop = min(segment.end + 1, int(sample.presence[0].sum()))  # joint frames x is in
        speed = tenths(sample.joints[0, segment.start : stop])
        last.append(speed[-1])
        middle.append(speed[4:6].mean())
        padded.append(segment.end < cfg.data.interleave.frames)
        told.append(sample.ends)
    last, middle = np.array(last), np.array(middle)
    return {
        "layouts": [f"{o} {t}" for o, t in ending_on_solo],
        "draws": draws,
        "samples_ending_on_locomotion": len(last),
        "caption_words": list(LOCOMOTION_WORDS),
        "last_tenth_m_s": round(float(last.mean()), 3),
        "middle_m_s": round(float(middle.mean()), 3),
        "at_rest": round(float(np.mean(last < REST)), 3),
        "ended_with_the_clip": round(float(np.mean(padded)), 3),
        # what a denoiser with end positions is told (Condition.motion_ends): the last window
        # reaches its clip's end, padded or not
        "motion_ends": round(float(np.mean(told)), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", type=Path, required=True)
    parser.add_argument("--checkpoint", type=Path, default=None, help="default: shipped model")
    parser.add_argument("--samples", type=int, default=8, help="test clips per action")
    parser.add_argument("--draws", type=int, default=2000, help="U(·) samples drawn (0: none)")
    add_guidance_options(parser)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    started = time.perf_counter()
    pipe = InterSynPipeline.from_pretrained(args.checkpoint)
    sampling = guidance_settings(args)
    result = {
        "checkpoint": str(pipe.checkpoint),
        "checkpoint_sha256": pipe.model.sha256,
        "rest_below_m_s": REST,
        **sampling,
        "generated_vs_real_per_tenth": model_profiles(
            pipe, args.data_root, args.samples, args.seed, **sampling
        ),
    }
    if args.draws > 0:
        result["training_samples"] = training_ends(pipe, args.data_root, args.draws)
    result["seconds"] = round(time.perf_counter() - started, 1)
    write_json(args.out, result)
    for name, row in result["generated_vs_real_per_tenth"].items():
        print(f"{name:15s} real      {row['real_m_s']}")
        print(f"{'':15s} generated {row['generated_m_s']}")
        print(
            f"{'':15s} pace {row['generated_pace_m_s']:.2f} m/s, real {row['real_pace_m_s']:.2f} "
            f"(x{row['pace_ratio']:.2f})"
        )
    if "training_samples" in result:
        print(f"training samples ending on locomotion: {result['training_samples']}")


if __name__ == "__main__":
    main()
