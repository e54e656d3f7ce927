"""Do generated feet touch the floor as often as captured ones? Stances after the clean-up.

The model draws motion in 4-frame patches, so a jog or run plants each foot for about one
patch; the clean-up's smoothing blurs such a stance into a slow slide, and a foot lock that
plants only toes slower than `plant_speed` (0.5 m/s) lifts it to the swing clearance: the
feet hover. `CleanupConfig.stance_speed` / `stance_radius` also plant a run of low frames
slower than `stance_speed` that stays within `stance_radius` of its mean.

For every solo action, motions are generated from the quality bar's held-out phrasing at the
lengths of the action's test clips (the model's raw output, sampled once) and cleaned up
twice: with the default clean-up and with the plant speed alone (`stance_speed` =
`plant_speed`, the foot lock before session 44). Per action: the share of toe frames below
5 cm (both toes, every frame) against the real clips', foot skating (mean toe speed while
on the floor, the quality bar's measure), and how far the stance rule moves a toe at most.

    python bench/foot_stances.py --data-root data/procedural --samples 16 --out F
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

from intersyn import features_to_joints
from intersyn.data.build_procedural import items_by_label
from intersyn.data.procedural import SOLO_ACTIONS
from intersyn.io import write_json
from intersyn.kinematics.cleanup import clean_motion
from intersyn.pipeline import DEFAULT_CLEANUP, InterSynPipeline, Layout
from intersyn.quality import SKATING_HEIGHT, SKATING_JOINTS, foot_skating

sys.path.insert(0, str(Path(__file__).resolve().parent))
from guidance_options import add_guidance_options, guidance_settings  # noqa: E402
from quality_bar import HELD_OUT_SOLO, sample_lengths  # noqa: E402

FPS = 20


def on_floor(joints: np.ndarray) -> float:
    """Share of toe frames below the skating height in `joints (T, 22, 3)`."""
    return float((joints[:, list(SKATING_JOINTS), 1] < SKATING_HEIGHT).mean())


def skating(joints: np.ndarray) -> float:
    return float(foot_skating(joints.astype(np.float64), FPS).speed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-root", type=Path, required=True)
    parser.add_argument("--checkpoint", type=Path, help="default: the shipped model")
    parser.add_argument("--samples", type=int, default=16, help="per action")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    add_guidance_options(parser)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    started = time.time()
    pipe = InterSynPipeline.from_pretrained(args.checkpoint)
    solo_items, _ = items_by_label(args.data_root, "test", args.samples)
    features = {
        k: [i.load_features() for i in solo_items[name]] for k, name in enumerate(SOLO_ACTIONS)
    }
    missing = [SOLO_ACTIONS[k] for k, clips in features.items() if not clips]
    if missing:
        raise SystemExit(f"--data-root {args.data_root}: no test clips of {missing}")
    real = {
        name: [np.asarray(features_to_joints(f)) for f in features[k]]
        for k, name in enumerate(SOLO_ACTIONS)
    }
    frames, _ = sample_lengths(features, {}, args.samples, pipe.window, fixed=False)
    layouts, names = [], []
    for k, name in enumerate(SOLO_ACTIONS):
        for length in frames[k]:
            layout = Layout.from_segments(length, [("solo", 0, length, HELD_OUT_SOLO[name])])
            layouts.append(pipe.read_layout(layout)[0])
            names.append(name)
    raw = pipe.sample_layouts(
        layouts,
        seed=args.seed,
        steps=args.steps,
        batch_size=48,
        progress=True,
        **guidance_settings(args),
    )
    before = dataclasses.replace(DEFAULT_CLEANUP, stance_speed=DEFAULT_CLEANUP.plant_speed)
    rows = {}
    for name in SOLO_ACTIONS:
        own = [m[0] for m, n in zip(raw, names, strict=True) if n == name]
        now = [clean_motion(m, DEFAULT_CLEANUP) for m in own]
        then = [clean_motion(m, before) for m in own]
        moved = max(
            float(np.linalg.norm((a - b)[:, list(SKATING_JOINTS)], axis=-1).max())
            for a, b in zip(now, then, strict=True)
        )
        rows[name] = {
            "on_floor": {
                "real": float(np.mean([on_floor(j) for j in real[name]])),
                "generated": float(np.mean([on_floor(j) for j in now])),
                "plant_speed_alone": float(np.mean([on_floor(j) for j in then])),
                "raw": float(np.mean([on_floor(j) for j in own])),
            },
            "skating": {
                "real": float(np.mean([skating(j) for j in real[name]])),
                "generated": float(np.mean([skating(j) for j in now])),
                "plant_speed_alone": float(np.mean([skating(j) for j in then])),
            },
            "toe_moved_max": moved,  # m: the stance rule against the plant speed alone
        }
        r = rows[name]
        print(
            f"{name:20s} toes on the floor: real {r['on_floor']['real']:.2f}, generated "
            f"{r['on_floor']['generated']:.2f} (plant speed alone "
            f"{r['on_floor']['plant_speed_alone']:.2f}, raw {r['on_floor']['raw']:.2f}); "
            f"skating {r['skating']['generated']:.5f} m/s (real {r['skating']['real']:.5f}); "
            f"toe moved ≤ {moved:.2f} m"
        )
    write_json(
        args.out,
        {
            "checkpoint": str(args.checkpoint or "default"),
            "samples_per_action": args.samples,
            "prompts": "held-out",
            "steps": args.steps,
            **guidance_settings(args),
            "seed": args.seed,
            "cleanup": dataclasses.asdict(DEFAULT_CLEANUP),
            "actions": rows,
            "seconds": round(time.time() - started, 1),
        },
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
