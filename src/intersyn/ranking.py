"""Best of K: score generated motions by how well they agree with their text.

A diffusion sample is one draw: for a new wording the denoiser sometimes draws the asked-for
motion and sometimes a neighbouring one (an applause that turns into punches). Sampling K
candidates and keeping the one a text-motion model scores highest (as image generators rank
their samples with CLIP) trades K times the sampling for fewer such misses.

The scorer is a file written by `intersyn text-encoder train`: its sentence tower and its two
motion towers (single-person HumanML3D features, two-person InterHuman features), trained
contrastively on the generator's training data. It is separate from the evaluators, which
grade the result and never choose it. A candidate's score is the mean, over the segments of its
layout, of the cosine between the segment's text and the segment's motion: person x's solo
frames through the single-person tower, the interaction frames of person x and each partner
through the two-person tower.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from intersyn.errors import InterSynError
from intersyn.evaluation.benchmark import solo_inputs, two_person_inputs
from intersyn.evaluation.train_evaluator import _batch
from intersyn.text.aligned import KIND, AlignedTextEncoder, MotionTower, load_tower

TOWERS = {"solo": 263, "pair": 524}  # motion tower → feature width
MIN_SCORED_FRAMES = 10  # a segment shorter than this (0.5 s) says too little to be scored
_CHUNK = 256  # motions per tower call in `embed_motions`


class MotionTextScorer:
    """Cosine agreement of motions with texts (see the module docstring)."""

    def __init__(self, source: str | Path | Mapping[str, Any], fps: float) -> None:
        """`source`: a `text_encoder.pt` path or its payload (`weights()` keeps one); `fps`:
        the frame rate of the joints it scores."""
        from intersyn.training.checkpoint import load_checkpoint

        if isinstance(source, Mapping):
            payload, where = dict(source), "ranker in the checkpoint"
        else:
            if not Path(source).is_file():
                raise InterSynError(f"ranker {source}: file not found")
            payload, where = load_checkpoint(source), f"ranker {source}"
        missing = [
            f"{kind}_tower" for kind in TOWERS if not isinstance(payload.get(f"{kind}_tower"), dict)
        ]
        if payload.get("kind") != KIND or missing:
            raise InterSynError(
                f"{where}: expected a text_encoder.pt written by `intersyn text-encoder train` "
                f"with its motion towers (kind {payload.get('kind')!r}, missing {missing or 'none'})"
            )
        self.text = AlignedTextEncoder(payload)
        self.config = self.text.config
        self.towers: dict[str, MotionTower] = {}
        for kind, dim in TOWERS.items():
            tower = MotionTower(self.config, dim)
            load_tower(tower, payload[f"{kind}_tower"], where)
            self.towers[kind] = tower.eval()
        self.sha256 = self.text.sha256
        self.fps = float(fps)

    def weights(self) -> dict[str, Any]:
        """What rebuilds this scorer without its file (a shipped checkpoint keeps it)."""
        return {
            **self.text.weights(),
            **{
                f"{kind}_tower": {k: v.detach().cpu() for k, v in tower.state_dict().items()}
                for kind, tower in self.towers.items()
            },
        }

    def _solo_rows(self, person: np.ndarray) -> np.ndarray:
        """Single-person tower input of one person's joints `(T, 22, 3)`."""
        rows = solo_inputs(person)[:: max(1, round(self.config.solo_stride * self.fps / 20))]
        return rows[: self.config.max_motion_rows]

    def _pair_rows(self, pair: np.ndarray) -> np.ndarray:
        """Two-person tower input of joints `(2, T, 22, 3)`."""
        return two_person_inputs(pair, self.fps, self.config.pair_stride)[
            : self.config.max_motion_rows
        ]

    @torch.inference_mode()
    def embed_texts(self, texts: list[str]) -> torch.Tensor:
        """Sentence embeddings `(N, C)` of `texts` by the ranker's text tower."""
        return self.text.encode(texts).pooled

    @torch.inference_mode()
    def embed_motions(self, joints: Sequence[np.ndarray], kind: str) -> torch.Tensor:
        """Embeddings `(N, C)` of whole motions `(P, T, 22, 3)` by the `kind` motion tower
        ("solo": person x; "pair": person x and the first partner), as `score` compares them
        with texts."""
        if kind not in TOWERS:
            raise InterSynError(f"motion tower {kind!r}: expected one of {tuple(TOWERS)}")
        if len(joints) == 0:
            raise InterSynError("embed_motions: no motions; expected at least one")
        if kind == "pair" and min(m.shape[0] for m in joints) < 2:
            raise InterSynError("embed_motions: the pair tower needs motions of two people or more")
        rows = [self._solo_rows(m[0]) if kind == "solo" else self._pair_rows(m[:2]) for m in joints]
        return torch.cat(
            [self.towers[kind](*_batch(rows[i : i + _CHUNK])) for i in range(0, len(rows), _CHUNK)]
        )

    @torch.inference_mode()
    def score(
        self, joints: Sequence[np.ndarray], segments: Sequence[tuple[str, int, int, str]]
    ) -> np.ndarray:
        """Agreement `(N,)` of each motion `(P, T, 22, 3)` with `segments` `(kind, start, end,
        text)` (a layout's segments; "solo" frames are person x's, "interaction" frames
        those of person x with every partner)."""
        parts: dict[str, list[tuple[int, str, np.ndarray]]] = {kind: [] for kind in TOWERS}
        for n, motion in enumerate(joints):
            for kind, start, end, text in segments:
                if end - start < MIN_SCORED_FRAMES:
                    continue
                if kind == "solo":
                    parts["solo"].append((n, text, self._solo_rows(motion[0, start:end])))
                else:
                    for partner in range(1, motion.shape[0]):
                        rows = self._pair_rows(motion[[0, partner], start:end])
                        parts["pair"].append((n, text, rows))
        total, count = np.zeros(len(joints)), np.zeros(len(joints))
        for kind, items in parts.items():
            if not items:
                continue
            owners = np.array([n for n, _, _ in items])
            # Each distinct text once (K candidates share their segments' texts).
            texts, which = np.unique([text for _, text, _ in items], return_inverse=True)
            text_emb = self.embed_texts(texts.tolist())[torch.from_numpy(which)]
            motion_emb = self.towers[kind](*_batch([rows for *_, rows in items]))
            cosine = (text_emb * motion_emb).sum(-1).numpy()
            np.add.at(total, owners, cosine)
            np.add.at(count, owners, 1)
        if (count == 0).any():
            raise InterSynError(
                f"ranker: no segment of at least {MIN_SCORED_FRAMES} frames to score"
            )
        return total / count
