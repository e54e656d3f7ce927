"""Do generated partners stand where real ones do? Per interaction, generated vs. real test clips.

For each interaction of the procedural vocabulary, `--samples` interaction-only motions are
generated from one of its training captions, each as long as its real clip (`--frames`; DDIM,
guidance as `intersyn generate`), and compared with the same number of real test clips of
that interaction on:
- facing: cosine between the two people's horizontal facing directions, mean over frames
  (−1 face to face, +1 same way: "follow"),
- pelvis: horizontal pelvis-to-pelvis distance, mean and minimum over frames (m),
- hands: closest wrist-to-wrist distance over the clip (m; handshakes and high fives meet),
- pelvis_start: horizontal pelvis distance in the first frame (m),
- forward / backward: how far each person's pelvis moves along / against the way it
  faces (m, mean of the two people): real pushes step back a few tenths of a metre;
  a pair generated walking backwards into its end positions passes through itself
  (pelvis_min near 0),
- skating (toes on the floor, m/s) and jerk (m/s³) of both people.
Generated motion is scored as `intersyn generate` returns it (cleaned up) unless `--raw`.
`by_caption` splits the interactions whose hands meet by whether the caption describes an
approach ("after approaching each other, ...", "meeting up, ..."): there the pair starts
apart and has to close the gap.

    python bench/interaction_geometry.py [--checkpoint CKPT] --data-root data/procedural \
        --samples 8 --out reports/default_b7bae25e/interaction_geometry.json
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from intersyn.data.build_procedural import items_by_label
from intersyn.data.procedural import INTERACTIONS
from intersyn.io import write_json
from intersyn.kinematics.cleanup import CleanupConfig
from intersyn.pipeline import FPS, InterSynPipeline, Layout
from intersyn.quality import foot_skating, jerk

sys.path.insert(0, str(Path(__file__).resolve().parent))
from guidance_options import add_guidance_options, guidance_settings  # noqa: E402

L_HIP, R_HIP, L_SHOULDER, R_SHOULDER, L_WRIST, R_WRIST = 1, 2, 16, 17, 20, 21
HANDS_MEET = ("shake_hands", "high_five", "hug", "pass_object", "pull")
# How the procedural captions say that the two walk up to each other first.
APPROACH_WORDS = ("approach", "meeting up", "walked over", "walks over")
COLUMNS = ("facing", "pelvis_min", "hands_min", "forward", "backward", "skating")


def facing(joints: np.ndarray) -> np.ndarray:
    """Horizontal unit facing direction `(..., T, 2)` (x, z) from hips and shoulders."""
    across = joints[..., R_HIP, :] - joints[..., L_HIP, :]
    across = across + joints[..., R_SHOULDER, :] - joints[..., L_SHOULDER, :]
    forward = np.stack([across[..., 2], -across[..., 0]], -1)  # up × across, on the floor
    return forward / np.maximum(np.linalg.norm(forward, axis=-1, keepdims=True), 1e-8)


def pair_geometry(joints: np.ndarray, fps: float) -> dict[str, float]:
    """Measures of one two-person clip `(2, T, 22, 3)`."""
    f = facing(joints)
    pelvis = np.linalg.norm(joints[0, :, 0, [0, 2]] - joints[1, :, 0, [0, 2]], axis=0)
    wrists = joints[:, :, [L_WRIST, R_WRIST]]  # (2, T, 2, 3)
    hands = np.linalg.norm(wrists[0][:, :, None] - wrists[1][:, None], axis=-1)  # (T, 2, 2)
    step = np.diff(joints[:, :, 0][..., [0, 2]], axis=1)  # (2, T-1, 2)
    along = np.sum(step * f[:, :-1], -1)  # signed: + forward, - backward
    return {
        "facing": float(np.mean(np.sum(f[0] * f[1], -1))),
        "pelvis_mean": float(pelvis.mean()),
        "pelvis_min": float(pelvis.min()),
        "pelvis_start": float(pelvis[0]),
        "hands_min": float(hands.min()),
        "forward": float(along.clip(min=0).sum(1).mean()),
        "backward": float((-along).clip(min=0).sum(1).mean()),
        "skating": float(np.mean([foot_skating(joints[p], fps).speed for p in range(2)])),
        "jerk": float(np.mean([jerk(joints[p], fps) for p in range(2)])),
    }


def summarise(rows: list[dict[str, float]]) -> dict[str, float]:
    return {key: round(float(np.mean([r[key] for r in rows])), 4) for key in rows[0]}


def real_clips(data_root: Path, per_class: int) -> dict[str, list[tuple[np.ndarray, str]]]:
    """Up to `per_class` test clips (joints resampled to 20 fps, first caption) per interaction."""
    out: dict[str, list[tuple[np.ndarray, str]]] = {name: [] for name in INTERACTIONS}
    for name, items in items_by_label(data_root, "test", per_class)[1].items():
        for item in items:
            joints = np.asarray(item.load_joints())  # (2, T, 22, 3) at 30 fps
            keep = np.round(np.arange(0, joints.shape[1], 30 / FPS)).astype(int)
            out[name].append((joints[:, keep[keep < joints.shape[1]]], item.captions[0]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, default=None, help="default: shipped model")
    parser.add_argument("--data-root", type=Path, required=True)
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument(
        "--frames",
        type=int,
        default=0,
        help="length of every generated motion (default 0: each real clip's own, so paths "
        "compare; reports before session 42 used 150)",
    )
    parser.add_argument("--steps", type=int, default=50)
    add_guidance_options(parser, max_step=False)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-coordinator", action="store_true")
    parser.add_argument(
        "--raw", action="store_true", help="score the raw model output (default: as users get it)"
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    started = time.perf_counter()
    real = real_clips(args.data_root, args.samples)
    pipe = InterSynPipeline.from_pretrained(args.checkpoint)
    layouts = [
        Layout.from_segments(n, [("interaction", 0, n, caption)])
        for name in INTERACTIONS
        for joints, caption in real[name]
        for n in [min(args.frames or joints.shape[1], pipe.window)]
    ]
    generated = pipe.sample_layouts(
        layouts,
        seed=args.seed,
        steps=args.steps,
        **guidance_settings(args),
        coordinator=not args.no_coordinator,
        cleanup=None if args.raw else CleanupConfig(),
        progress=True,
    )
    result: dict = {
        "checkpoint": str(args.checkpoint or "default"),
        "coordinator": not args.no_coordinator,
        **guidance_settings(args),
        "cleanup": not args.raw,
        "samples": args.samples,
        "frames": args.frames or None,  # None: each real clip's length
        "per_interaction": {},
    }
    kinds: dict[str, dict[str, list]] = {}
    k = 0
    for name in INTERACTIONS:
        clips = real[name]
        measured = {
            "real": [pair_geometry(j, FPS) for j, _ in clips],
            "generated": [pair_geometry(j, FPS) for j in generated[k : k + len(clips)]],
        }
        k += len(clips)
        result["per_interaction"][name] = {w: summarise(r) for w, r in measured.items()}
        if name not in HANDS_MEET:
            continue
        for c, (_, caption) in enumerate(clips):
            kind = "approach" if any(w in caption for w in APPROACH_WORDS) else "other"
            rows = kinds.setdefault(kind, {"real": [], "generated": []})
            for w in rows:
                rows[w].append(measured[w][c])
    result["by_caption"] = {
        kind: {"clips": len(rows["real"])} | {w: summarise(r) for w, r in rows.items()}
        for kind, rows in sorted(kinds.items())
    }
    result["seconds"] = round(time.perf_counter() - started, 1)
    print(f"{'interaction':20s} " + " ".join(f"{m:>17s}" for m in COLUMNS))
    for name, rows in result["per_interaction"].items():
        cells = [f"{rows['real'][m]:8.3f}/{rows['generated'][m]:<8.3f}" for m in COLUMNS]
        print(f"{name:20s} " + " ".join(cells))
    print("(each cell: real/generated)")
    for kind, rows in result["by_caption"].items():
        real_row, made_row = rows["real"], rows["generated"]
        print(
            f"{', '.join(HANDS_MEET)}, {kind} captions ({rows['clips']}): start "
            f"{real_row['pelvis_start']:.2f}/{made_row['pelvis_start']:.2f} m, closest wrists "
            f"{real_row['hands_min']:.3f}/{made_row['hands_min']:.3f} m"
        )
    if args.out:
        write_json(args.out, result)


if __name__ == "__main__":
    main()
