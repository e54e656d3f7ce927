"""Which real test clips does the evaluator retrieve from a phrasing? The quality bar's Real row,
clip by clip.

The quality bar compares the top-3 retrieval of generated motion with the Real row's: the
same rate over the action's real test clips. Where the Real row is low, it can come from a
few clips of one variant of the action: the held-out jog ("an individual trots ahead at a
moderate tempo") is retrieved for the 6 of 16 test jogs that turn right and for none of those
that go straight or turn left, so a generated jog that goes straight ahead, as asked, is not
retrieved even where the evaluator's nearest real motions to it are jogs. For each chosen
action this lists every real test clip's first caption and whether the phrasing's top 3
holds it, and for each clip the actions of its five nearest real clips in the evaluator's
motion space.

    python bench/real_retrieval.py --data-root data/procedural --actions jog clap \
        [--prompts validation] [--out F]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from intersyn.data.build_procedural import items_by_label
from intersyn.data.procedural import INTERACTIONS, SOLO_ACTIONS
from intersyn.evaluation.benchmark import load_evaluators, two_person_inputs
from intersyn.io import write_json

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality_bar import (  # noqa: E402
    HELD_OUT_PAIR,
    HELD_OUT_SOLO,
    VALIDATION_PAIR,
    VALIDATION_SOLO,
    top3_hits,
)

NEIGHBOURS = 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-root", type=Path, required=True)
    parser.add_argument(
        "--evaluator-1p",
        type=Path,
        default=Path("reports/tables/evaluators/single_person/evaluator.pt"),
    )
    parser.add_argument(
        "--evaluator-2p",
        type=Path,
        default=Path("reports/tables/evaluators/two_person/evaluator.pt"),
    )
    parser.add_argument("--actions", nargs="+", required=True)
    parser.add_argument("--prompts", choices=("held-out", "validation"), default="held-out")
    parser.add_argument("--per-class", type=int, default=16)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    unknown = [a for a in args.actions if a not in SOLO_ACTIONS + INTERACTIONS]
    if unknown:
        parser.error(
            f"--actions: unknown {unknown}; expected some of {SOLO_ACTIONS + INTERACTIONS}"
        )

    evaluators = load_evaluators(args.evaluator_2p, args.evaluator_1p)
    solo_items, pair_items = items_by_label(args.data_root, "test", args.per_class)
    held_out = args.prompts == "held-out"
    result = {}
    for kind, names, items, prompts in (
        ("solo", SOLO_ACTIONS, solo_items, HELD_OUT_SOLO if held_out else VALIDATION_SOLO),
        ("pair", INTERACTIONS, pair_items, HELD_OUT_PAIR if held_out else VALIDATION_PAIR),
    ):
        chosen = [a for a in args.actions if a in names]
        if not chosen:
            continue
        evaluator = evaluators.single_person if kind == "solo" else evaluators.two_person
        clips = [(k, item) for k, name in enumerate(names) for item in items[name]]
        if kind == "solo":
            inputs = [item.load_features() for _, item in clips]
        else:
            stride = evaluator.config.frame_stride
            inputs = [two_person_inputs(np.asarray(i.load_joints()), 30, stride) for _, i in clips]
        motions = evaluator.embed_motions(inputs)
        labels = np.array([k for k, _ in clips])
        hits = top3_hits(motions, labels, evaluator.embed_texts([prompts[a] for a in names]))
        between = np.linalg.norm(motions[:, None] - motions[None], axis=-1)
        np.fill_diagonal(between, np.inf)
        nearest = between.argsort(1)[:, :NEIGHBOURS]
        for action in chosen:
            k = names.index(action)
            rows = []
            for i in np.where(labels == k)[0]:
                near = Counter(names[labels[j]] for j in nearest[i])
                rows.append(
                    {
                        "caption": getattr(caption := clips[i][1].captions[0], "text", caption),
                        "retrieved": bool(hits[i]),
                        "nearest_clips": dict(near.most_common()),
                    }
                )
            rate = float(np.mean([r["retrieved"] for r in rows]))
            print(f"{action} ({prompts[action]!r}): Real top-3 {rate:.2f}")
            for r in rows:
                mark = "+" if r["retrieved"] else "-"
                print(f"  {mark} {r['caption']:55s} nearest: {r['nearest_clips']}")
            result[action] = {"prompt": prompts[action], "real_top3": rate, "clips": rows}
    if args.out:
        write_json(args.out, {"prompts": args.prompts, "actions": result})
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
