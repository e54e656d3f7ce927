"""Does a text encoder carry the quality bar's held-out wordings to the right action?

For each solo action and interaction of the procedural vocabulary, the encoder's pooled vector
of every training caption of that action is averaged into a centroid; each prompt is then
assigned to the nearest centroid of its kind (cosine), or with `--method nearest-caption` to
the action of its single nearest training caption. Cheap (no generator needed): it tells
whether conditioning a denoiser on this encoder can carry new wordings at all.

Two prompt sets of `bench/quality_bar.py`: `validation` (for design choices) and `held-out`
(the bar's own prompts, the test: choose encoders on `validation`, then report `held-out`).

    python bench/text_generalisation.py --data-root data/procedural \
        --encoder aligned --path runs/text_aligned/text_encoder.pt [--prompts held-out] \
        [--reword default|CHECKPOINT]

`--reword` first reads each prompt's unseen words as that model's pipeline does
(`InterSynPipeline.reword`: WordNet, then the nearest word vector), so the count is the
ceiling a user's wording meets with that model.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))

from intersyn.data.build_procedural import items_by_label  # noqa: E402
from intersyn.text.factory import build_text_encoder  # noqa: E402
from quality_bar import (  # noqa: E402
    HELD_OUT_PAIR,
    HELD_OUT_SOLO,
    VALIDATION_PAIR,
    VALIDATION_SOLO,
)


def pooled(encoder, captions: list[str]) -> np.ndarray:
    """Unit pooled vectors `(N, C)` of `captions`, encoded in chunks."""
    chunks = [encoder.encode(captions[i : i + 256]).pooled for i in range(0, len(captions), 256)]
    return np.concatenate([F.normalize(c, dim=-1).cpu().numpy() for c in chunks])


def nearest_action(encoder, captions_by_action: dict[str, list[str]], prompts: dict[str, str]):
    """Per action: (nearest centroid's action, rank of the true one, cosine margin)."""
    names = list(captions_by_action)
    centroids = np.stack([pooled(encoder, captions_by_action[n]).mean(0) for n in names])
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    queries = pooled(encoder, [prompts[n] for n in names])  # (A, C)
    similarity = queries @ centroids.T  # (A, A)
    rows = {}
    for k, name in enumerate(names):
        rank = int((similarity[k] > similarity[k, k]).sum())
        rows[name] = (names[int(similarity[k].argmax())], rank)
    return rows


def nearest_caption(encoder, captions_by_action: dict[str, list[str]], prompts: dict[str, str]):
    """Per action: (action of the single nearest training caption, rank of the true action
    among the actions ordered by their nearest caption)."""
    names = list(captions_by_action)
    unique = {caption: name for name in names for caption in captions_by_action[name]}
    bank = pooled(encoder, list(unique))  # (N, C)
    labels = np.array([names.index(name) for name in unique.values()])  # (N,)
    queries = pooled(encoder, [prompts[n] for n in names])  # (A, C)
    similarity = queries @ bank.T  # (A, N)
    best = np.full((len(names), len(names)), -np.inf)  # (A, A) best caption per action
    for k in range(len(names)):
        best[:, k] = similarity[:, labels == k].max(axis=1)
    return {
        name: (names[int(best[k].argmax())], int((best[k] > best[k, k]).sum()))
        for k, name in enumerate(names)
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-root", type=Path, required=True)
    parser.add_argument("--encoder", default="wordllama")
    parser.add_argument("--path", default=None)
    parser.add_argument("--prompts", choices=("validation", "held-out"), default="validation")
    parser.add_argument(
        "--method",
        choices=("centroid", "nearest-caption"),
        default="centroid",
        help="assign each prompt to the nearest action centroid or to the action of the single "
        "nearest training caption",
    )
    parser.add_argument(
        "--reword",
        default=None,
        help="read unseen words as this model's pipeline does first ('default': shipped model)",
    )
    args = parser.parse_args()
    encoder = build_text_encoder(args.encoder, args.path)
    solo_items, pair_items = items_by_label(args.data_root, "train", 10**9)
    solo = {n: [c.text for item in items for c in item.captions] for n, items in solo_items.items()}
    pairs = {n: [c for item in items for c in item.captions] for n, items in pair_items.items()}
    total = hits = 0
    sets = {
        "validation": (VALIDATION_SOLO, VALIDATION_PAIR),
        "held-out": (HELD_OUT_SOLO, HELD_OUT_PAIR),
    }[args.prompts]
    if args.reword is not None:
        from intersyn import InterSynPipeline

        pipe = InterSynPipeline.from_pretrained(None if args.reword == "default" else args.reword)
        sets = tuple({n: pipe.reword(p)[0] for n, p in prompts.items()} for prompts in sets)
    for kind, captions, prompts in (("solo", solo, sets[0]), ("pair", pairs, sets[1])):
        assign = nearest_action if args.method == "centroid" else nearest_caption
        for name, (nearest, rank) in assign(encoder, captions, prompts).items():
            total, hits = total + 1, hits + (rank == 0)
            mark = "ok " if rank == 0 else "   "
            print(f"{mark}{kind:4s} {name:20s} nearest={nearest:20s} rank={rank}")
    print(
        f"{args.encoder} ({args.method}): {hits}/{total} {args.prompts} prompts nearest to "
        "their own action"
    )


if __name__ == "__main__":
    main()
