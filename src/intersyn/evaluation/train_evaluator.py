"""`intersyn evaluator train`: the two-person text–motion evaluator (InterCLIP architecture).

Trained contrastively (symmetric InfoNCE) on any InterHuman-layout data root, the procedural one
included, with the offline text encoder in place of CLIP's token table (`text_input="features"`;
the choice is recorded in the saved file). Motions are InterGen's evaluator input: both people's
262-dim features, person B in person A's frame, up to 300 frames at 30 fps (every
`frame_stride`-th row is kept: 2 by default, so a CPU trains it in minutes).
Saved: `evaluator.pt` (weights + config + text encoder), `metrics.json` (R-precision, MM Dist
on the test split under InterGen's protocol, batches of 96).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from intersyn.errors import InterSynError
from intersyn.evaluation.evaluators import InterClip, contrastive_loss, interclip_config
from intersyn.io import write_json
from intersyn.training.checkpoint import load_checkpoint, save_checkpoint

MAX_FRAMES = 300  # InterGen's max_gt_length (30 fps, 10 s)


@dataclass(frozen=True)
class EvaluatorTrainConfig:
    """Sizes and schedule of a two-person evaluator trained here (CPU-sized by default)."""

    latent_dim: int = 256  # motion transformer width (official: 1024)
    num_layers: int = 4  # (official: 8)
    num_heads: int = 4
    ff_size: int = 512
    embed_dim: int = 256  # shared embedding (official: 512)
    text_width: int = 256
    text_layers: int = 2
    text_heads: int = 4
    text_max_tokens: int = 32
    dropout: float = 0.1
    epochs: int = 30
    batch_size: int = 64
    lr: float = 3e-4
    logit_scale: float = 14.0  # InfoNCE temperature 0.07
    frame_stride: int = 2  # keep every 2nd frame (30 → 15 fps): half the tokens, for CPUs
    seed: int = 0

    def model_config(self, text_dim: int):
        return interclip_config(
            "intergen",
            latent_dim=self.latent_dim,
            num_layers=self.num_layers,
            num_heads=self.num_heads,
            ff_size=self.ff_size,
            dropout=self.dropout,
            embed_dim=self.embed_dim,
            text_width=self.text_width,
            text_layers=self.text_layers,
            text_heads=self.text_heads,
            max_text_len=self.text_max_tokens,
            text_input="features",
            text_feature_dim=text_dim,
            max_motion_len=MAX_FRAMES + 1,
        )


@dataclass
class PairMotions:
    """Evaluator inputs of a split: motions `(T, 524)` float32 each, and their captions."""

    motions: list[np.ndarray]
    captions: list[tuple[str, ...]]


def load_pair_motions(data_root: str | Path, split: str, stride: int = 1) -> PairMotions:
    """InterHuman-layout clips of `split` as evaluator inputs (B in A's frame, contacts kept).

    `stride` keeps every stride-th feature row (velocities stay per source frame).
    """
    from intersyn.data.interhuman import load_interhuman
    from intersyn.kinematics.pair import interhuman_pair_features

    items = load_interhuman(data_root, split)
    if not items:
        raise InterSynError(f"data root {data_root}: no InterHuman {split} clips")
    motions, captions = [], []
    for item in items:
        joints, rotations = item.load()
        joints = joints[:, : MAX_FRAMES + 1]
        features = np.asarray(interhuman_pair_features(joints[0], joints[1]))  # (2, T-1, 262)
        pair = np.concatenate([features[0], features[1]], axis=-1)[::stride]
        motions.append(pair.astype(np.float32))
        captions.append(item.captions)
    return PairMotions(motions, captions)


def _batch(motions: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    lengths = torch.tensor([len(m) for m in motions])
    out = torch.zeros(len(motions), int(lengths.max()), motions[0].shape[-1])
    for i, m in enumerate(motions):
        out[i, : len(m)] = torch.from_numpy(m)
    return out, lengths


def _swap(motion: np.ndarray) -> np.ndarray:
    """The same interaction with the persons' order exchanged (A ↔ B halves), as InterGen does."""
    half = motion.shape[-1] // 2
    return np.concatenate([motion[:, half:], motion[:, :half]], axis=-1)


class TwoPersonEvaluator:
    """A trained InterClip with its text encoder: embeddings for metrics."""

    def __init__(self, model: InterClip, text, config: EvaluatorTrainConfig, name: str) -> None:
        self.model, self.text, self.config, self.name = model.eval(), text, config, name

    @torch.inference_mode()
    def embed_motions(self, motions: list[np.ndarray], batch: int = 128) -> np.ndarray:
        out = []
        for i in range(0, len(motions), batch):
            x, lengths = _batch(motions[i : i + batch])
            out.append(self.model.encode_motion(x, lengths))
        return torch.cat(out).numpy()

    @torch.inference_mode()
    def embed_texts(self, captions: list[str], batch: int = 256) -> np.ndarray:
        out = []
        for i in range(0, len(captions), batch):
            tokens, mask, _ = self.text.encode(captions[i : i + batch])
            out.append(self.model.encode_text_features(tokens, mask))
        return torch.cat(out).numpy()

    @classmethod
    def load(cls, path: str | Path) -> TwoPersonEvaluator:
        payload = load_checkpoint(path)
        if payload.get("kind") != "intersyn-evaluator-2p":
            raise InterSynError(f"evaluator {path}: not a two-person InterSyn evaluator")
        config = EvaluatorTrainConfig(**payload["config"])
        text = _text_encoder(config, payload["text_encoder"])
        model = InterClip(config.model_config(text.encoder.dim))
        model.load_state_dict(payload["model"])
        return cls(
            model, text, config, f"{payload['text_encoder']}+interclip@{payload['sha256'][:12]}"
        )


def _text_encoder(config: EvaluatorTrainConfig, name: str = "wordllama"):
    from intersyn.text.factory import build_text_encoder
    from intersyn.training.stages import TextConditioner

    encoder = build_text_encoder(name, max_tokens=config.text_max_tokens)
    return TextConditioner(encoder, torch.device("cpu"))


def start_training(out: str | Path, seed: int) -> tuple[Path, np.random.Generator]:
    """Check the output folder, seed torch, and return (out, the numpy generator)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InterSynError(f"--out {out}: is a file; expected a directory path")
    torch.manual_seed(seed)
    return out, np.random.default_rng(seed)


def one_cycle(model: torch.nn.Module, lr: float, total: int):
    """AdamW with a one-cycle schedule over `total` steps: (optimizer, scheduler)."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    return optimizer, torch.optim.lr_scheduler.OneCycleLR(optimizer, lr, total_steps=total)


def optimiser_step(loss, model, optimizer, scheduler, losses: list[float], bar) -> None:
    """Back-propagate `loss`, clip the gradient norm at 1, step the optimiser and schedule, and
    show the mean of the last 20 losses on the progress bar."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    scheduler.step()
    losses.append(float(loss.detach()))
    bar.update(1)
    bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}")


def score_real(evaluator, motions: list, captions: list, protocol: str, seed: int = 0) -> dict:
    """R-precision (top 1–3) and MM Dist of real clips against one random caption each.

    `protocol`: "t2m" (shuffled batches of 32) or "intergen" (96); `evaluator` has
    `embed_motions` and `embed_texts`.
    """
    from intersyn.metrics import INTERGEN_PROTOCOL, T2M_PROTOCOL, mm_dist, r_precision

    size = {"t2m": T2M_PROTOCOL, "intergen": INTERGEN_PROTOCOL}[protocol].r_precision_batch
    rng = np.random.default_rng(seed)
    chosen = [c[int(rng.integers(len(c)))] for c in captions]
    motion_emb = evaluator.embed_motions(motions)
    texts = evaluator.embed_texts(chosen)
    order = rng.permutation(len(motion_emb))
    batch = min(size, len(motion_emb))
    top = r_precision(texts[order], motion_emb[order], top_k=3, batch_size=batch)
    return {
        "protocol": protocol,
        "batch": batch,
        "samples": int(len(motion_emb) // batch * batch),
        "r_precision": [float(v) for v in top],
        "chance_top1": 1.0 / batch,
        "mm_dist": float(mm_dist(texts[order], motion_emb[order], batch_size=batch)),
    }


def evaluate_real(evaluator: TwoPersonEvaluator, data: PairMotions, seed: int = 0) -> dict:
    """R-precision (top 1–3) and MM Dist of real test pairs, InterGen protocol (batches of 96)."""
    return score_real(evaluator, data.motions, data.captions, "intergen", seed)


def train_two_person_evaluator(
    data_root: str | Path,
    out: str | Path,
    config: EvaluatorTrainConfig | None = None,
    *,
    progress: bool = True,
) -> dict:
    """Train, save `evaluator.pt` + `metrics.json` under `out`, return the metrics."""
    config = config or EvaluatorTrainConfig()
    out, rng = start_training(out, config.seed)
    started = time.perf_counter()
    train = load_pair_motions(data_root, "train", config.frame_stride)
    test = load_pair_motions(data_root, "test", config.frame_stride)
    text = _text_encoder(config)
    model = InterClip(config.model_config(text.encoder.dim))
    steps_per_epoch = max(1, len(train.motions) // config.batch_size)
    total = steps_per_epoch * config.epochs
    optimizer, scheduler = one_cycle(model, config.lr, total)
    bar = tqdm(total=total, disable=not progress, desc="evaluator", unit="step")
    losses = []
    for _ in range(config.epochs):
        order = rng.permutation(len(train.motions))
        for step in range(steps_per_epoch):
            index = order[step * config.batch_size : (step + 1) * config.batch_size]
            motions = [
                _swap(train.motions[i]) if rng.random() < 0.5 else train.motions[i] for i in index
            ]
            captions = [train.captions[i][int(rng.integers(len(train.captions[i])))] for i in index]
            x, lengths = _batch(motions)
            tokens, mask, _ = text.encode(captions)
            loss = contrastive_loss(
                model.encode_text_features(tokens, mask),
                model.encode_motion(x, lengths),
                config.logit_scale,
            )
            optimiser_step(loss, model, optimizer, scheduler, losses, bar)
    bar.close()
    digest = save_checkpoint(
        out / "evaluator.pt",
        {
            "kind": "intersyn-evaluator-2p",
            "config": dataclasses.asdict(config),
            "text_encoder": "wordllama",
            "model": model.state_dict(),
        },
    )
    evaluator = TwoPersonEvaluator(model, text, config, f"wordllama+interclip@{digest[:12]}")
    metrics = {
        "evaluator": evaluator.name,
        "text_encoder": "wordllama (offline; official InterCLIP uses CLIP ViT-L/14@336px tokens)",
        "train_clips": len(train.motions),
        "test_clips": len(test.motions),
        "epochs": config.epochs,
        "first_loss": float(np.mean(losses[:10])),
        "last_loss": float(np.mean(losses[-10:])),
        "seconds": round(time.perf_counter() - started, 1),
        "real_test": evaluate_real(evaluator, test, config.seed),
        # The metric convention of T2M (and of `intersyn.metrics.r_precision`'s default); on the
        # procedural data, batches of 96 cap top-3 near 0.76 (bench/r_precision_ceiling.py).
        "real_test_batch32": score_real(evaluator, test.motions, test.captions, "t2m", config.seed),
    }
    write_json(out / "metrics.json", metrics)
    return metrics
