"""Does a model follow per-person texts, and what do they cost?

Run: `python bench/person_texts.py [--checkpoint CKPT] [--samples 8]`. Draws requests with the
per-person texts as each person's own for a model that reads them so
(`InterSynPipeline.tags_person_texts`, what `intersyn generate` does), else joined as
`plan_layout` joins them, whatever the model was trained on (the pipeline itself drops them
for a model trained without them; see `InterSynPipeline.reads_person_texts`), best of the
default candidates, cleaned up:

- who leads: "two people walk one behind the other" with "someone leads the way" / "a woman
  trails behind the other person", the same two swapped, and none: in how many samples person
  x is ahead of the partner (> 0.2 m along the pair's direction of travel, second half);
- who is pushed: "one person pushes the other, who stumbles backwards" with "a person pushes
  someone with both hands" / "a person is pushed and stumbles backwards", swapped, and none:
  in how many samples person x backs away more than the partner (> 0.2 m, `backs_away`);
- contact after an approach: "After approaching each other, two people greet each other with
  a handshake" with "A woman walks toward the other person and greets someone with a
  handshake" / "... returns the handshake", and none, at 107 and 140 frames (5.4 and 7 s, as
  long as the approach clips): in how many samples the closest wrists come within 10 cm, and
  the closest pelvis gap.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from intersyn import InterSynPipeline
from intersyn.kinematics.skeleton import HAND_JOINTS
from intersyn.pipeline import DEFAULT_CLEANUP, plan_layout
from intersyn.quality import contact_distance

sys.path.insert(0, str(Path(__file__).resolve().parent))
from guidance_options import add_guidance_options  # noqa: E402

FOLLOW = "two people walk one behind the other"
LEAD = ("someone leads the way", "a woman trails behind the other person")
APPROACH = "After approaching each other, two people greet each other with a handshake"
GREET = (
    "A woman walks toward the other person and greets someone with a handshake",
    "A woman walks toward the other person and returns the handshake",
)


def lead(motion: np.ndarray) -> float:
    """How far person x is ahead of the partner along the pair's direction of travel (metres,
    mean over the second half; negative: behind)."""
    half = motion.shape[1] // 2
    middle = (motion[0, :, 0] + motion[1, :, 0]) / 2
    travel = middle[-1, [0, 2]] - middle[half, [0, 2]]
    travel = travel / max(float(np.linalg.norm(travel)), 1e-6)
    ahead = motion[0, half:, 0][:, [0, 2]] @ travel - motion[1, half:, 0][:, [0, 2]] @ travel
    return float(ahead.mean())


PUSH = "one person pushes the other, who stumbles backwards"
PUSHED = ("a person pushes someone with both hands", "a person is pushed and stumbles backwards")


def backs_away(motion: np.ndarray) -> float:
    """How much further person x moves away from where the partner started than the partner
    moves away from where x started (metres, first to last frame; positive: x backs away)."""
    start, end = motion[:, 0, 0][:, [0, 2]], motion[:, -1, 0][:, [0, 2]]
    apart = start[0] - start[1]
    apart = apart / max(float(np.linalg.norm(apart)), 1e-6)
    return float((end[0] - start[0]) @ apart + (end[1] - start[1]) @ apart)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, default=None, help="default: shipped model")
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--seed", type=int, default=3)
    add_guidance_options(parser, scale=False, max_step=False)
    args = parser.parse_args()
    pipe = InterSynPipeline.from_pretrained(args.checkpoint)
    print(f"model {pipe.model.sha256[:8]}, trained on per-person texts: {pipe.reads_person_texts}")

    def draw(interaction: str, roles: tuple[str, ...], frames: int) -> list[np.ndarray]:
        if pipe.tags_person_texts:  # each person's own text, as `intersyn generate` gives it
            planned = pipe.plan(None, interaction, None, None, frames, *(roles or (None, None)))
        else:  # joined, whatever the model was trained on
            planned = plan_layout(None, interaction, None, None, frames, roles)
        layout = pipe.read_layout(planned)[0]
        return pipe.sample_layouts(
            [layout] * args.samples,
            seed=args.seed,
            steps=50,
            guidance=2.5,
            guidance_parallel=args.guidance_parallel,
            min_distance=args.min_distance,
            cleanup=DEFAULT_CLEANUP,
            candidates=pipe.default_candidates,
            batch_size=48,
        )

    n = args.samples
    for name, roles in (("as given", LEAD), ("swapped", LEAD[::-1]), ("none", ())):
        ahead = np.array([lead(m) for m in draw(FOLLOW, roles, 140)])
        print(
            f"who leads, per-person texts {name:8s}: person x ahead in {(ahead > 0.2).sum()} "
            f"of {n}, behind in {(ahead < -0.2).sum()} of {n}"
        )
    for name, roles in (("as given", PUSHED), ("swapped", PUSHED[::-1]), ("none", ())):
        away = np.array([backs_away(m) for m in draw(PUSH, roles, 100)])
        print(
            f"who is pushed, per-person texts {name:8s}: person x backs away more in "
            f"{(away > 0.2).sum()} of {n}, the partner in {(away < -0.2).sum()} of {n}"
        )
    pairs = [(a, b) for a in HAND_JOINTS for b in HAND_JOINTS]
    for frames in (107, 140):
        for name, roles in (("given", GREET), ("none", ())):
            motions = draw(APPROACH, roles, frames)
            closest = np.array(
                [np.asarray(contact_distance(m[0], m[1], pairs)).min() for m in motions]
            )
            floor_gap = [m[0][:, 0][:, [0, 2]] - m[1][:, 0][:, [0, 2]] for m in motions]
            pelvis = [float(np.linalg.norm(gap, axis=-1).min()) for gap in floor_gap]
            print(
                f"approach handshake, {frames} frames, per-person texts {name:6s}: hands within "
                f"10 cm in {(closest < 0.1).sum()} of {n} (mean closest {closest.mean():.2f} m), "
                f"closest pelvis gap {np.min(pelvis):.2f}–{np.max(pelvis):.2f} m"
            )


if __name__ == "__main__":
    main()
