"""The best R-precision ANY evaluator can reach on the procedural two-person test split.

A caption describes a clip only through the words the generator drew for it (interaction,
approach, hand, direction, ...). Many clips of a batch share them: for "two people wave to each
other" every waving clip is an equally good match. The Bayes-optimal evaluator ranks a batch's
motions by P(caption | clip) (exact, from `pair_caption_distribution`, which replays each test
clip's random draws without solving joints) and can only guess among ties; its expected top-k
rate is this script's figure. The protocol is the one `score_real` uses (one random stored
caption per clip, shuffled batches, full batches only), averaged over `--repeats` shuffles.

    python bench/r_precision_ceiling.py --data-root data/procedural --seed 0 \
        --out reports/r_precision_ceiling.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from intersyn.data.build_procedural import _PAIR, _body, _rng
from intersyn.data.procedural import INTERACTIONS
from intersyn.data.procedural.interaction import pair_caption_distribution
from intersyn.io import write_json
from intersyn.kinematics.skeleton import scaled_offsets


def test_clips(data_root: Path) -> list[tuple[list[str], dict[str, float]]]:
    """(stored captions, caption distribution) of every test clip of the procedural InterHuman folder."""
    root = data_root / "InterHuman"
    seed = json.loads((data_root / "procedural.json").read_text())["seed"]
    ids = [
        line.strip() for line in (root / "split" / "test.txt").read_text().split() if line.strip()
    ]
    clips = []
    for clip_id in ids:
        index = int(clip_id) - 1  # InterHuman ids are 1, 2, ...
        offsets = tuple(scaled_offsets(s, limb) for s, limb in _body(seed, index))
        dist = pair_caption_distribution(
            INTERACTIONS[index % len(INTERACTIONS)], _rng(seed, _PAIR, index), offsets=offsets
        )
        stored = [c.strip() for c in (root / "annots" / f"{clip_id}.txt").read_text().splitlines()]
        stored = [c for c in stored if c]
        unknown = [c for c in stored if c not in dist]
        if unknown:
            raise SystemExit(f"clip {clip_id}: stored caption {unknown[0]!r} not reproducible")
        clips.append((stored, dist))
    return clips


def ceiling(clips, batch: int, repeats: int, seed: int, top_k: int = 3) -> np.ndarray:
    """Expected top-1..top-k of the Bayes-optimal ranking (uniform among ties)."""
    rng = np.random.default_rng(seed)
    k = np.arange(1, top_k + 1)
    rates = []
    for _ in range(repeats):
        order = rng.permutation(len(clips))
        for start in range(0, len(order) - batch + 1, batch):
            members = [clips[i] for i in order[start : start + batch]]
            for stored, dist in members:
                caption = stored[int(rng.integers(len(stored)))]
                own = dist[caption]
                scores = np.array([d.get(caption, 0.0) for _, d in members])
                better = np.sum(scores > own * (1 + 1e-9))
                tied = np.sum(np.isclose(scores, own, rtol=1e-9))
                rates.append(np.clip(k - better, 0, tied) / tied)
    return np.mean(rates, axis=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", type=Path, default=Path("data/procedural"))
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    clips = test_clips(args.data_root)
    result = {
        "test_clips": len(clips),
        "distinct_stored_captions": len({c for stored, _ in clips for c in stored}),
        "repeats": args.repeats,
        "ceiling_top1_3": {
            f"batch_{b}": [round(float(v), 4) for v in ceiling(clips, b, args.repeats, args.seed)]
            for b in (32, 96)
        },
    }
    print(json.dumps(result, indent=2))
    if args.out:
        write_json(args.out, result)


if __name__ == "__main__":
    main()
