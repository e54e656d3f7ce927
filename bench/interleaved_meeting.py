"""Does the partner meet person x when a solo action flows into an interaction (and back)?

For a few interleaved requests (the README's among them), `--samples` motions are generated in
one batch (as `intersyn generate --num-samples` does, cleaned up) and scored on:
- start_distance: horizontal pelvis distance between the two people at the frame the partner
  appears (m); the real test clips of that interaction give the reference range,
- closest_hands: closest wrist-to-wrist distance while both are present (m),
- met_10cm / met_20cm: share of samples whose hands come within 10 / 20 cm.
With `--readme-seeds N`, the README's own command (the second request, one sample per seed as
`intersyn generate --seed S` makes it) is also generated for seeds 0 … N−1, which tells how
often the README's request meets and whether the seed it shows is a typical one.

    python bench/interleaved_meeting.py --checkpoint runs/cpu_v5/checkpoints/final.pt \
        --data-root data/procedural --samples 16 --out reports/interleaved_meeting.json
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from intersyn.data.build_procedural import items_by_label
from intersyn.io import write_json
from intersyn.kinematics.skeleton import HAND_JOINTS
from intersyn.pipeline import InterSynPipeline

sys.path.insert(0, str(Path(__file__).resolve().parent))
from guidance_options import add_guidance_options, guidance_settings  # noqa: E402

# (solo, interaction, solo_start, interaction_start, procedural interaction name)
REQUESTS = (
    ("a person walks forward and waves", "two people shake hands", 0, 65, "shake_hands"),
    ("a person walks forward and waves", "two people shake hands", 0, 40, "shake_hands"),
    ("a person jogs forward", "two people give each other a high five", 0, 60, "high_five"),
    ("a person walks away", "two people shake hands", 70, 0, "shake_hands"),
)
README_REQUEST = REQUESTS[1]  # the README's generate command (with --seed 7)


def closest_hands(pair: np.ndarray) -> float:
    """Closest wrist-to-wrist distance over frames of `(2, T, 22, 3)` (m)."""
    a = pair[0][:, HAND_JOINTS][:, :, None]
    b = pair[1][:, HAND_JOINTS][:, None, :]
    return float(np.linalg.norm(a - b, axis=-1).min())


def pelvis_distance(pair: np.ndarray, frame: int) -> float:
    step = pair[0, frame, 0, [0, 2]] - pair[1, frame, 0, [0, 2]]
    return float(np.linalg.norm(step))


def real_start_distances(data_root: Path, names: set[str]) -> dict[str, list[float]]:
    """Pelvis distance at the first frame of every real test clip of each named interaction
    (the test split is read once)."""
    pairs = items_by_label(data_root, "test", per_class=10_000)[1]
    return {
        name: [pelvis_distance(np.asarray(item.load_joints()), 0) for item in pairs[name]]
        for name in names
    }


def summary(values: list[float]) -> dict[str, float]:
    array = np.asarray(values)
    return {
        "min": round(float(array.min()), 3),
        "median": round(float(np.median(array)), 3),
        "max": round(float(array.max()), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=None, help="default: the shipped one")
    parser.add_argument("--data-root", type=Path, default=Path("data/procedural"))
    parser.add_argument("--samples", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--readme-seeds", type=int, default=0, help="README request per seed")
    add_guidance_options(parser, scale=False)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    real = real_start_distances(args.data_root, {name for *_, name in REQUESTS})
    pipe = InterSynPipeline.from_pretrained(args.checkpoint)
    rows = []
    for solo, interaction, t_s, t_i, name in REQUESTS:
        started = time.perf_counter()
        result = pipe(
            solo=solo,
            interaction=interaction,
            solo_start=t_s,
            interaction_start=t_i,
            seed=args.seed,
            num_samples=args.samples,
            **guidance_settings(args),
            progress=False,
        )
        present = np.flatnonzero(result.presence[1])
        first, last = int(present[0]), int(present[-1]) + 1
        pairs = [joints[:, first:last] for joints in result.joints]
        starts = [pelvis_distance(pair, 0) for pair in pairs]
        hands = [closest_hands(pair) for pair in pairs]
        row = {
            "solo": solo,
            "interaction": interaction,
            "solo_start": t_s,
            "interaction_start": t_i,
            "samples": args.samples,
            "start_distance": summary(starts),
            "real_start_distance": summary(real[name]),
            "closest_hands": summary(hands),
            "met_10cm": round(float(np.mean(np.asarray(hands) < 0.10)), 3),
            "met_20cm": round(float(np.mean(np.asarray(hands) < 0.20)), 3),
            "seconds": round(time.perf_counter() - started, 1),
        }
        rows.append(row)
        print(row)
    report = {
        "checkpoint": str(args.checkpoint or "shipped default"),
        "seed": args.seed,
        **guidance_settings(args),
        "rows": rows,
    }
    if args.readme_seeds > 0:
        report["readme_request_seeds"] = readme_request_seeds(
            pipe, args.readme_seeds, **guidance_settings(args)
        )
        print(report["readme_request_seeds"])
    if args.out:
        write_json(args.out, report)


def readme_request_seeds(
    pipe: InterSynPipeline,
    seeds: int,
    **sampling: float | int | None,
) -> dict:
    """The README's request (`REQUESTS[1]`) once per seed 0 … seeds−1: closest hands (m), how
    far person x walks before the interaction (pelvis, m: "walks forward and waves") and which
    candidate the ranker kept; `sampling`: guidance options of `InterSynPipeline.__call__` (its
    defaults otherwise)."""
    solo, interaction, _, t_i, _ = README_REQUEST
    hands, walked, chosen = [], [], []
    for seed in range(seeds):
        result = pipe(
            solo=solo,
            interaction=interaction,
            interaction_start=t_i,
            seed=seed,
            **sampling,
            progress=False,
        )
        present = np.flatnonzero(result.presence[1])
        hands.append(closest_hands(result.joints[0][:, present[0] : present[-1] + 1]))
        pelvis = result.joints[0, 0, [0, t_i], 0][:, [0, 2]]
        walked.append(round(float(np.linalg.norm(pelvis[1] - pelvis[0])), 2))
        chosen.append((result.meta["chosen_candidates"] or [None])[0])  # None: one candidate
    return {
        "solo": solo,
        "interaction": interaction,
        "interaction_start": t_i,
        "closest_hands": [round(h, 3) for h in hands],
        "met_10cm": sum(h < 0.10 for h in hands),
        "x_walked_before_interaction": walked,
        "walked_0_5m": sum(w >= 0.5 for w in walked),
        "chosen_candidates": chosen,
        "seeds": seeds,
    }


if __name__ == "__main__":
    main()
