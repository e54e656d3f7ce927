"""Motion-quality measures of the procedural dataset next to the real HumanML3D clip.

Run: `python bench/report_quality.py [--per-action 10] [--real ../shared/data/humanml3d_sample]`.
Prints a Markdown table: one row per solo action and interaction (mean over clips generated
with the dataset's own generator at the dataset's frame rates) and one for the real clip.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from intersyn.data.procedural import (
    INTERACTIONS,
    SOLO_ACTIONS,
    generate_pair_clip,
    generate_solo_clip,
)
from intersyn.kinematics.skeleton import scaled_offsets
from intersyn.quality import contact_distance, interpenetration, motion_quality_report

COLUMNS = (
    "foot_skating_speed",
    "foot_skating_ratio",
    "floor_penetration_max",
    "floating",
    "bone_length_variation",
    "jerk",
)


def _row(name: str, reports: list[dict], extra: str = "") -> str:
    values = [np.mean([r[c] for r in reports]) for c in COLUMNS]
    cells = " | ".join(f"{v:.4g}" for v in values)
    return f"| {name} | {cells} | {extra} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--per-action", type=int, default=10)
    parser.add_argument(
        "--real",
        type=Path,
        default=Path(__file__).resolve().parents[2] / "shared/data/humanml3d_sample",
    )
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    header = "| clip | skating m/s | skating ratio | penetration max m | floating m | bone var m | jerk m/s³ | contact / overlap |"
    print(header)
    print("|" + "---|" * 8)
    real = args.real / "new_joints" / "012314.npy"
    if real.exists():
        print(_row("real HumanML3D 012314 (20 fps)", [motion_quality_report(np.load(real), 20)]))
    for action in SOLO_ACTIONS:
        clips = [generate_solo_clip(action, rng) for _ in range(args.per_action)]
        print(_row(f"solo: {action}", [motion_quality_report(c.joints, c.fps) for c in clips]))
    for interaction in INTERACTIONS:
        reports, contacts, overlaps = [], [], []
        for _ in range(args.per_action):
            offsets = (
                scaled_offsets(rng.choice([0.9, 1.0, 1.1])).numpy(),
                scaled_offsets(rng.choice([0.9, 1.0, 1.1])).numpy(),
            )
            clip = generate_pair_clip(interaction, rng, offsets=offsets)
            reports += [motion_quality_report(person, clip.fps) for person in clip.joints]
            if len(clip.contact_frames) and clip.contact_joints:
                d = contact_distance(
                    clip.joints[0], clip.joints[1], clip.contact_joints, clip.contact_frames
                )
                contacts.append(float(np.max(d)))
            overlaps.append(float(interpenetration(clip.joints[0], clip.joints[1]).mean_depth))
        extra = f"max contact {np.max(contacts):.3f} m; " if contacts else ""
        extra += f"overlap depth {np.mean(overlaps):.3f} m"
        print(_row(f"pair: {interaction} (30 fps)", reports, extra))


if __name__ == "__main__":
    main()
