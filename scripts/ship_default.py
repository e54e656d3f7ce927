"""Package a trained inference checkpoint as the default model shipped inside `intersyn`.

Run: `python scripts/ship_default.py runs/cpu_default/checkpoints/final.pt [--data data/procedural]`.
Writes `src/intersyn/assets/default.pt` (weights stored as float16 to halve the size; they are
cast back to float32 on load) and `src/intersyn/assets/default.json` (what it is, how it was
trained, its SHA-256).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from intersyn.io import write_json
from intersyn.training.checkpoint import load_checkpoint, save_checkpoint
from intersyn.training.config import TrainConfig
from intersyn.training.loop import load_training_items, training_wording

ASSETS = Path(__file__).resolve().parents[1] / "src" / "intersyn" / "assets"


def halve(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """float32 weights → float16; buffers that hold statistics stay float32."""
    return {
        k: v.half() if v.dtype == torch.float32 and k not in ("mean", "std") else v
        for k, v in state.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--data", type=Path, default=None, help="the dataset it was trained on")
    parser.add_argument(
        "--recount-vocabulary",
        action="store_true",
        help="list the words and word pairs of the captions the model is conditioned on in "
        "--data anew (checkpoints from before session 31 also listed words only per-person "
        "captions use, which the model never read)",
    )
    parser.add_argument(
        "--ranker",
        type=Path,
        default=None,
        help="a text_encoder.pt (with its motion towers) to ship as the scorer of best-of-K "
        "sampling (`intersyn.ranking`; re-packaging keeps the one shipped)",
    )
    parser.add_argument(
        "--recipe",
        action="append",
        default=[],
        metavar="COMMAND",
        help="a command it was trained with, in order (repeatable; recorded in default.json, "
        "after the shipped model's own when re-packaging it: a fine-tune's trained_steps "
        "count only its own steps)",
    )
    args = parser.parse_args()
    payload = load_checkpoint(args.checkpoint)
    if payload.get("kind") != "intersyn-model":
        raise SystemExit(f"{args.checkpoint}: expected an inference checkpoint (final.pt)")
    source_sha = payload.pop("sha256")
    earlier = {}
    recipe = list(args.recipe)
    if args.checkpoint.resolve() == (ASSETS / "default.pt").resolve():  # re-packaging it
        card = json.loads((ASSETS / "default.json").read_text())
        earlier = {"previous_sha256": source_sha}
        source_sha = card["source_checkpoint_sha256"]
        recipe = card.get("recipe", []) + recipe  # the commands so far, then this one
    payload.pop("format_version", None)
    payload["denoiser"] = halve(payload["denoiser"])
    payload["coordinator"] = halve(payload["coordinator"])
    # Trained before checkpoints recorded them, or asked to count them anew.
    wording = ("text_vocabulary", "text_word_pairs", "text_captions")
    if any(key not in payload for key in wording) or args.recount_vocabulary:
        if args.data is None:
            raise SystemExit(
                f"{args.checkpoint}: counting its {' and '.join(wording)} needs --data"
            )
        cfg = TrainConfig.from_dict(payload["config"])
        items = load_training_items(args.data, cfg)
        payload.update(training_wording(*items, cfg))
    if args.ranker is not None:
        from intersyn.ranking import MotionTextScorer

        weights = MotionTextScorer(args.ranker, fps=20).weights()  # checks it is one
        payload["ranker"] = {k: halve(v) if k.endswith("_tower") else v for k, v in weights.items()}
    if "ranker" in payload:  # the captions' embeddings, so generation need not embed them
        from intersyn.ranking import MotionTextScorer
        from intersyn.text.known_wording import embed_caption_bank

        scorer = MotionTextScorer(payload["ranker"], fps=20)
        payload["text_caption_embeddings"] = {
            "ranker_sha256": scorer.sha256,
            **embed_caption_bank(payload["text_captions"], scorer.embed_texts),
        }
    digest = save_checkpoint(ASSETS / "default.pt", payload)
    card = {
        "file": "default.pt",
        "sha256": digest,
        "source_checkpoint_sha256": source_sha,
        **earlier,  # the same weights under their earlier file hash
        "config": payload["config"]["name"],
        "trained_steps": payload["steps"],
        **({"recipe": recipe} if recipe else {}),
        "text_encoder": payload["text_encoder"],
        "text_vocabulary_words": len(payload["text_vocabulary"]),
        "text_word_pairs": len(payload["text_word_pairs"]),
        "text_captions": {kind: len(v) for kind, v in payload["text_captions"].items()},
        **({"ranker_sha256": payload["ranker"]["sha256"]} if "ranker" in payload else {}),
        "weights": "float16 on disk, float32 in memory",
        "parameters": {
            "denoiser": sum(v.numel() for v in payload["denoiser"].values()),
            "coordinator": sum(v.numel() for v in payload["coordinator"].values()),
        },
    }
    if args.data is not None and (args.data / "procedural.json").is_file():
        info = json.loads((args.data / "procedural.json").read_text())
        card["dataset"] = {k: info[k] for k in ("seed", "counts", "generator_version") if k in info}
    write_json(ASSETS / "default.json", card)
    size = (ASSETS / "default.pt").stat().st_size / 2**20
    print(f"wrote {ASSETS / 'default.pt'} ({size:.1f} MiB, sha256 {digest[:16]}…)")


if __name__ == "__main__":
    main()
