"""`intersyn evaluator train --persons 1`: single-person text–motion evaluator (Guo et al. / T2M).

The network is `T2MEvaluator` (REFERENCE.md §3.1) at CPU sizes, trained end to end with a
symmetric InfoNCE loss over the batch whose logits are negative Euclidean distances, the
distance R-precision and MM Dist rank by (the official evaluator used a margin loss on the same
distances, after pre-training the movement encoder as an autoencoder). Text side: GloVe cannot
be downloaded here, so each word of a caption is the offline WordLlama encoder's embedding of
that word, and the POS one-hot comes from the rule-based tagger (`intersyn.data.tagging`) mapped
onto HumanML3D's 15-entry order. Motion side: HumanML3D 263-dim features normalised with the
training split's Mean/Std (HumanML3D convention: std averaged within feature slices), cropped
to at most 196 frames, lengths a multiple of 4.
Saved: `evaluator.pt` (weights, config, mean/std, word-encoder id), `metrics.json` (R-precision
and MM Dist of the real test split under the T2M protocol, batches of 32).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from intersyn.data.normalize import compute_humanml3d_stats
from intersyn.data.tagging import tag_caption
from intersyn.errors import InterSynError
from intersyn.evaluation.evaluators import T2MEvaluator, T2MEvaluatorConfig
from intersyn.evaluation.train_evaluator import (
    one_cycle,
    optimiser_step,
    score_real,
    start_training,
)
from intersyn.io import write_json
from intersyn.text.base import validate_captions
from intersyn.training.checkpoint import load_checkpoint, save_checkpoint

KIND = "intersyn-evaluator-1p"
TEXT_ENCODER = "wordllama word vectors + rule-based POS tagger (official: GloVe 300d + spaCy POS)"
MAX_FRAMES = 196  # T2M max_motion_length
UNIT = 4  # frames per movement token; lengths are multiples of it
FEATURE_DIM = 263

# HumanML3D's POS one-hot order (REFERENCE.md §3.1); the VIP word lists override a word's tag.
POS_ORDER: tuple[str, ...] = (
    "VERB", "NOUN", "DET", "ADP", "NUM", "AUX", "PRON", "ADJ", "ADV",
    "Loc_VIP", "Body_VIP", "Obj_VIP", "Act_VIP", "Desc_VIP", "OTHER",
)  # fmt: skip
VIP_WORDS: dict[str, frozenset[str]] = {
    "Loc_VIP": frozenset(
        [
            "left",
            "right",
            "clockwise",
            "counterclockwise",
            "anticlockwise",
            "forward",
            "back",
            "backward",
            "up",
            "down",
            "straight",
            "curve",
        ]
    ),
    "Body_VIP": frozenset(
        [
            "arm",
            "chin",
            "foot",
            "feet",
            "face",
            "hand",
            "mouth",
            "leg",
            "waist",
            "eye",
            "knee",
            "shoulder",
            "thigh",
        ]
    ),
    "Obj_VIP": frozenset(
        [
            "stair",
            "dumbbell",
            "chair",
            "window",
            "floor",
            "car",
            "ball",
            "handrail",
            "baseball",
            "basketball",
        ]
    ),
    "Act_VIP": frozenset(
        [
            "walk",
            "run",
            "swing",
            "pick",
            "bring",
            "kick",
            "put",
            "squat",
            "throw",
            "hop",
            "dance",
            "jump",
            "turn",
            "stumble",
            "stop",
            "sit",
            "lift",
            "lower",
            "raise",
            "wash",
            "stand",
            "kneel",
            "stroll",
            "rub",
            "bend",
            "balance",
            "flap",
            "jog",
            "shuffle",
            "lean",
            "rotate",
            "spin",
            "spread",
            "climb",
        ]
    ),
    "Desc_VIP": frozenset(
        [
            "slowly",
            "carefully",
            "fast",
            "careful",
            "slow",
            "quickly",
            "happy",
            "angry",
            "sad",
            "happily",
            "angrily",
            "sadly",
        ]
    ),
}
SOS, EOS = "sos", "eos"  # T2M's sentence markers, looked up as words (tag OTHER)


@dataclass(frozen=True)
class SoloEvaluatorTrainConfig:
    """Sizes and schedule of a single-person evaluator trained here (CPU-sized by default)."""

    dim_word: int = 256  # WordLlama vector width (official: GloVe 300)
    dim_text_hidden: int = 256  # (official: 512)
    dim_motion_hidden: int = 384  # (official: 1024)
    dim_movement_enc_hidden: int = 256  # (official: 512)
    dim_movement_latent: int = 256  # (official: 512)
    dim_coemb_hidden: int = 256  # shared embedding (official: 512)
    max_caption_words: int = 20  # T2M max_text_len; sos/eos make at most 22 tokens
    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-3
    temperature: float = 1.0  # InfoNCE logits = −distance / temperature
    seed: int = 0

    def model_config(self) -> T2MEvaluatorConfig:
        """The `T2MEvaluatorConfig` of these sizes."""
        return T2MEvaluatorConfig(
            dim_word=self.dim_word,
            dim_text_hidden=self.dim_text_hidden,
            dim_motion_hidden=self.dim_motion_hidden,
            dim_movement_enc_hidden=self.dim_movement_enc_hidden,
            dim_movement_latent=self.dim_movement_latent,
            dim_coemb_hidden=self.dim_coemb_hidden,
            unit_length=UNIT,
        )


@dataclass
class SoloMotions:
    """Evaluator inputs: raw features `(T, 263)` float32 (T ≤ 196, T % 4 = 0) and captions."""

    motions: list[np.ndarray]
    captions: list[tuple[str, ...]]


def crop_motion(features: np.ndarray, name: str = "motion") -> np.ndarray:
    """The first `min(T, 196)` rows of `features (T, 263)`, down to a multiple of 4, float32."""
    array = np.asarray(features)
    if array.ndim != 2 or array.shape[1] != FEATURE_DIM or array.shape[0] < UNIT:
        raise InterSynError(
            f"{name}: expected HumanML3D features (T >= {UNIT}, {FEATURE_DIM}), got {array.shape}"
        )
    if not np.issubdtype(array.dtype, np.number) or not np.isfinite(array).all():
        raise InterSynError(f"{name}: expected finite numbers, got dtype {array.dtype} or NaN/inf")
    length = min(array.shape[0], MAX_FRAMES) // UNIT * UNIT
    return np.ascontiguousarray(array[:length], dtype=np.float32)


def load_solo_motions(data_root: str | Path, split: str) -> SoloMotions:
    """HumanML3D-layout clips and sub-clips of `split` as evaluator inputs (cropped, raw)."""
    from intersyn.data.humanml3d import load_humanml3d

    if not Path(data_root).is_dir():
        raise InterSynError(f"data root {data_root}: not found; expected a folder with HumanML3D/")
    items = load_humanml3d(data_root, split)
    if not items:
        raise InterSynError(f"data root {data_root}: no HumanML3D {split} clips")
    motions = [crop_motion(item.load_features(), f"clip {item.id}") for item in items]
    captions = [tuple(c.text for c in item.captions) for item in items]
    return SoloMotions(motions, captions)


def pos_index(token: str) -> tuple[str, int]:
    """(word, one-hot index) of a `word/POS` token: VIP lists first, then the tag, else OTHER."""
    word, _, tag = token.rpartition("/")
    for key, words in VIP_WORDS.items():
        if word in words:
            return word, POS_ORDER.index(key)
    return word, POS_ORDER.index(tag) if tag in POS_ORDER else POS_ORDER.index("OTHER")


class WordVectors:
    """Captions → T2M text inputs, with each word's vector from WordLlama (cached per word)."""

    def __init__(self, max_words: int = 20) -> None:
        from intersyn.text.factory import build_text_encoder

        self.encoder = build_text_encoder("wordllama", max_tokens=16)
        self.name = f"{self.encoder.name} per word"
        self.dim = int(self.encoder.pooled_dim)
        self.max_words = max_words
        self._vectors: dict[str, np.ndarray] = {}

    def vectors(self, words: Sequence[str]) -> np.ndarray:
        """Word vectors `(n, dim)` float32, scaled to unit RMS per dimension (GloVe-like size)."""
        missing = [w for w in dict.fromkeys(words) if w not in self._vectors]
        if missing:
            pooled = self.encoder.encode(missing).pooled.cpu().numpy()  # (m, dim), unit norm
            for word, vector in zip(missing, pooled * np.sqrt(self.dim), strict=True):
                self._vectors[word] = vector.astype(np.float32)
        return np.stack([self._vectors[w] for w in words])

    def tokenize(self, caption: str) -> tuple[list[str], list[int]]:
        """Words and POS indices of `sos + first max_words tagged words + eos`."""
        pairs = [pos_index(t) for t in tag_caption(caption)[: self.max_words]]
        other = POS_ORDER.index("OTHER")
        words = [SOS, *(w for w, _ in pairs), EOS]
        return words, [other, *(p for _, p in pairs), other]

    def batch(self, captions: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """`word_embs (B, L, dim)`, `pos_onehot (B, L, 15)`, `lengths (B,)`; L ≤ max_words + 2."""
        tokens = [self.tokenize(c) for c in captions]
        lengths = np.array([len(words) for words, _ in tokens])
        words = [w for ws, _ in tokens for w in ws]
        flat = self.vectors(words)  # (sum L, dim)
        mask = np.arange(lengths.max()) < lengths[:, None]  # (B, L)
        word_embs = np.zeros((*mask.shape, self.dim), np.float32)
        word_embs[mask] = flat
        pos = np.zeros((*mask.shape, len(POS_ORDER)), np.float32)
        pos[mask, np.concatenate([p for _, p in tokens])] = 1.0
        return torch.from_numpy(word_embs), torch.from_numpy(pos), torch.from_numpy(lengths)


def _motion_batch(motions: Sequence[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero-padded `(B, T_max, 263)` normalised features and lengths `(B,)`."""
    lengths = torch.tensor([len(m) for m in motions])
    out = torch.zeros(len(motions), int(lengths.max()), FEATURE_DIM)
    for i, m in enumerate(motions):
        out[i, : len(m)] = torch.from_numpy(m)
    return out, lengths


def _distances(text: torch.Tensor, motion: torch.Tensor) -> torch.Tensor:
    """Euclidean distances `(B, B)` of texts (rows) to motions (columns); finite gradient at 0."""
    sq = (text[:, None, :] - motion[None, :, :]).square().sum(-1)
    return torch.sqrt(sq + 1e-8)


def distance_infonce(text: torch.Tensor, motion: torch.Tensor, temperature: float) -> torch.Tensor:
    """Symmetric InfoNCE on `(B, E)` pairs, logits −‖t_i − m_j‖ / temperature; row i pairs with i."""
    logits = -_distances(text, motion) / temperature
    target = torch.arange(logits.shape[0])
    return (
        torch.nn.functional.cross_entropy(logits, target)
        + torch.nn.functional.cross_entropy(logits.T, target)
    ) / 2


class SinglePersonEvaluator:
    """A trained `T2MEvaluator` with its feature mean/std and word vectors, for the metrics."""

    def __init__(
        self,
        model: T2MEvaluator,
        words: WordVectors,
        mean: np.ndarray,
        std: np.ndarray,
        config: SoloEvaluatorTrainConfig,
        name: str,
    ) -> None:
        self.model, self.words, self.config, self.name = model.eval(), words, config, name
        self.mean = np.asarray(mean, np.float32)
        self.std = np.asarray(std, np.float32)

    def normalise(self, motion: np.ndarray) -> np.ndarray:
        """Raw features `(T, 263)` → cropped (T ≤ 196, multiple of 4) normalised features."""
        return (crop_motion(motion) - self.mean) / self.std

    @torch.inference_mode()
    def embed_motions(self, motions: Sequence[np.ndarray], batch: int = 128) -> np.ndarray:
        """Embeddings `(N, E)` of raw HumanML3D features `(T_i, 263)` (cropped, normalised here)."""
        if len(motions) == 0:
            raise InterSynError("motions: got an empty sequence; expected at least one (T, 263)")
        out = []
        for i in range(0, len(motions), batch):
            x, lengths = _motion_batch([self.normalise(m) for m in motions[i : i + batch]])
            out.append(self.model.encode_motion(x, lengths))
        return torch.cat(out).numpy()

    @torch.inference_mode()
    def embed_texts(self, captions: Sequence[str], batch: int = 256) -> np.ndarray:
        """Embeddings `(N, E)` of captions (tagged, first 20 words, sos/eos added)."""
        captions = validate_captions(captions)
        out = []
        for i in range(0, len(captions), batch):
            out.append(self.model.encode_text(*self.words.batch(captions[i : i + batch])))
        return torch.cat(out).numpy()

    @classmethod
    def load(cls, path: str | Path) -> SinglePersonEvaluator:
        """Load an `evaluator.pt` written by `train_single_person_evaluator`."""
        payload = load_checkpoint(path)
        if payload.get("kind") != KIND:
            raise InterSynError(
                f"evaluator {path}: not a single-person InterSyn evaluator (kind "
                f"{payload.get('kind')!r}, expected {KIND!r})"
            )
        config = SoloEvaluatorTrainConfig(**payload["config"])
        words = WordVectors(config.max_caption_words)
        if words.name != payload["word_vectors"]:
            raise InterSynError(
                f"evaluator {path}: trained with word vectors {payload['word_vectors']!r}, this "
                f"install provides {words.name!r}"
            )
        model = T2MEvaluator(config.model_config())
        model.load_state_dict(payload["model"])
        return cls(
            model,
            words,
            payload["mean"].numpy(),
            payload["std"].numpy(),
            config,
            f"wordllama-words+t2m@{payload['sha256'][:12]}",
        )


def evaluate_real_solo(evaluator: SinglePersonEvaluator, data: SoloMotions, seed: int = 0) -> dict:
    """R-precision (top 1–3) and MM Dist of real clips, T2M protocol (shuffled batches of 32)."""
    return score_real(evaluator, data.motions, data.captions, "t2m", seed)


def _augment(motion: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """T2M's length jitter: one time in three drop one 4-frame unit, from the start or the end."""
    if len(motion) <= 2 * UNIT or rng.random() >= 1 / 3:
        return motion
    return motion[UNIT:] if rng.random() < 0.5 else motion[:-UNIT]


def train_single_person_evaluator(
    data_root: str | Path,
    out: str | Path,
    config: SoloEvaluatorTrainConfig | None = None,
    *,
    progress: bool = True,
) -> dict:
    """Train contrastively, save, and score the real test split.

    Loss: symmetric InfoNCE over the batch on −Euclidean distance (the official one: a margin loss).

    Writes `out/evaluator.pt` (kind "intersyn-evaluator-1p") and `out/metrics.json`; returns
    the metrics.
    """
    config = config or SoloEvaluatorTrainConfig()
    out, rng = start_training(out, config.seed)
    started = time.perf_counter()
    train = load_solo_motions(data_root, "train")
    test = load_solo_motions(data_root, "test")
    words = WordVectors(config.max_caption_words)
    if words.dim != config.dim_word:
        raise InterSynError(
            f"config.dim_word={config.dim_word}: expected the word vectors' width {words.dim}"
        )
    mean, std = compute_humanml3d_stats(train.motions)  # HumanML3D convention, as T2M's own
    normalised = [(m - mean) / std for m in train.motions]
    model = T2MEvaluator(config.model_config())
    batch_size = min(config.batch_size, len(normalised))
    steps_per_epoch = max(1, len(normalised) // batch_size)
    total = steps_per_epoch * config.epochs
    optimizer, scheduler = one_cycle(model, config.lr, total)
    bar = tqdm(total=total, disable=not progress, desc="evaluator-1p", unit="step")
    losses = []
    model.train()
    for _ in range(config.epochs):
        order = rng.permutation(len(normalised))
        for step in range(steps_per_epoch):
            index = order[step * batch_size : (step + 1) * batch_size]
            x, lengths = _motion_batch([_augment(normalised[i], rng) for i in index])
            captions = [train.captions[i][int(rng.integers(len(train.captions[i])))] for i in index]
            loss = distance_infonce(
                model.encode_text(*words.batch(captions)),
                model.encode_motion(x, lengths),
                config.temperature,
            )
            optimiser_step(loss, model, optimizer, scheduler, losses, bar)
    bar.close()
    train_seconds = time.perf_counter() - started
    digest = save_checkpoint(
        out / "evaluator.pt",
        {
            "kind": KIND,
            "config": dataclasses.asdict(config),
            "text_encoder": TEXT_ENCODER,
            "word_vectors": words.name,
            "mean": torch.from_numpy(mean),
            "std": torch.from_numpy(std),
            "model": model.state_dict(),
        },
    )
    evaluator = SinglePersonEvaluator(
        model, words, mean, std, config, f"wordllama-words+t2m@{digest[:12]}"
    )
    metrics = {
        "evaluator": evaluator.name,
        "text_encoder": TEXT_ENCODER,
        "loss": "symmetric InfoNCE on -Euclidean distance (official: margin loss)",
        "train_clips": len(train.motions),
        "test_clips": len(test.motions),
        "epochs": config.epochs,
        "steps": total,
        "first_loss": float(np.mean(losses[:10])),
        "last_loss": float(np.mean(losses[-10:])),
        "train_seconds": round(train_seconds, 1),
        "real_test": evaluate_real_solo(evaluator, test, config.seed),
    }
    metrics["seconds"] = round(time.perf_counter() - started, 1)
    write_json(out / "metrics.json", metrics)
    return metrics
