"""TrainConfig: everything a training run needs, as frozen dataclasses with named presets.

Presets: `tiny` (tests: seconds on a CPU), `cpu` (the shipped default model: both stages in
under an hour on 2 CPU cores) and `paper` (§5.1: 8 × 512 denoiser, CLIP ViT-L/14 text,
batch 256, lr 1e-5). The resolved config is saved in every checkpoint and run directory.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from intersyn.data.interleave import InterleaveConfig
from intersyn.errors import InterSynError
from intersyn.losses.combine import LossConfig
from intersyn.models.config import ModelConfig, model_preset


@dataclass(frozen=True)
class DiffusionConfig:
    """The noise process and classifier-free guidance training (REFERENCE §4.1)."""

    schedule: str = "cosine"  # "cosine" (MDM, InterGen) or "linear"
    num_steps: int = 1000  # training diffusion steps (paper §5.1)
    cond_drop: float = 0.1  # share of samples trained with the null text (guidance)
    # Share of caption tokens hidden from the denoiser in each training sample, each token
    # independently (the pooled sentence feature stays): no single template word can carry
    # the whole caption, so paraphrases that share only some of its words still work.
    text_token_drop: float = 0.0
    # Each training sample's text features lean toward another sample's sentence feature, by a
    # weight drawn from [0, text_mix) relative to their own norm, the motion target unchanged:
    # the denoiser learns to follow a text's dominant meaning when it also leans toward another
    # action, as a new wording does ("applauds, striking the palms" leans toward punches).
    # The other sample is the one before it in the process's batch.
    text_mix: float = 0.0
    # Stage 2 trains the coordinator on the frozen denoiser's x0 prediction from x_t; generation
    # applies it once, to the finished sample. None: t drawn from every step, as stage 1 does;
    # N: from steps below N only, whose predictions are as sharp as a finished sample (from
    # high-noise steps the coordinator learns large corrections of blurred predictions, which
    # on a finished sample bend a long walk: "follow" started 8 m apart).
    rec_max_step: int | None = None

    def __post_init__(self) -> None:
        for name in ("cond_drop", "text_token_drop", "text_mix"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
                raise InterSynError(f"diffusion.{name}={value!r}; expected a number in [0, 1)")
        limit = self.rec_max_step
        if limit is not None and (
            isinstance(limit, bool)
            or not isinstance(limit, int)
            or not 1 <= limit <= self.num_steps
        ):
            raise InterSynError(
                f"diffusion.rec_max_step={limit!r}; expected None or an integer in "
                f"[1, {self.num_steps}]"
            )


@dataclass(frozen=True)
class DataConfig:
    """How training batches are drawn (paper §5.1: interleaved and single-person alternate)."""

    interleave: InterleaveConfig = field(default_factory=InterleaveConfig)
    # (organisation, timing) pairs drawn uniformly per interleaved sample; empty = always
    # `interleave`'s own. A mix teaches interaction-first and interaction-only timelines too.
    layouts: tuple[tuple[str, str], ...] = ()
    interleaved_fraction: float = 0.5  # share of interleaved batches; 0.5 = strict alternation
    batch_size: int = 64  # global batch (split across processes)
    workers: int = 1  # DataLoader worker processes building U(·) samples
    max_solo_clips: int | None = None  # cap on single-person clips loaded (None = all)
    max_pair_clips: int | None = None  # cap on interaction clips loaded (None = all)
    stats_samples: int = 512  # samples used to estimate the feature mean/std
    skip_bad: bool = False  # log and skip unreadable clips (partial downloads) instead of failing

    def __post_init__(self) -> None:
        try:
            layouts = tuple((str(o), str(t)) for o, t in self.layouts)  # JSON gives lists
        except (TypeError, ValueError):
            raise InterSynError(
                f"data.layouts: expected (organisation, timing) pairs, got {self.layouts!r}"
            ) from None
        for organisation, timing in layouts:  # fail at load, not mid-training
            dataclasses.replace(self.interleave, organisation=organisation, timing=timing)
        object.__setattr__(self, "layouts", layouts)
        _check_whole("data.batch_size", self.batch_size, 1)
        _check_whole("data.workers", self.workers, 0)
        _check_whole("data.stats_samples", self.stats_samples, 1)
        _check_number(
            "data.interleaved_fraction",
            self.interleaved_fraction,
            "a number from 0 to 1",
            lambda v: 0 <= v <= 1,
        )


def _check_number(name: str, value: object, expected: str, within: Callable[[float], bool]) -> None:
    """A one-line error unless `value` is a real number (not a bool) `within` holds for."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not within(value):
        raise InterSynError(f"{name}={value!r}: expected {expected}")


def _check_whole(name: str, value: object, low: int) -> None:
    """A one-line error unless `value` is a whole number >= `low` (checked at load: a zero
    batch or logging interval would fail deep inside the run)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InterSynError(f"{name}={value!r}: expected a whole number >= {low}")


@dataclass(frozen=True)
class OptimConfig:
    """Optimiser and schedule for one stage."""

    lr: float = 2e-4
    weight_decay: float = 0.0
    warmup_steps: int = 200
    steps: int = 10_000
    grad_clip: float = 1.0  # max gradient norm
    ema_decay: float = 0.999
    ema_warmup: bool = True  # decay ramps up as (1+n)/(10+n): short runs forget the init weights
    amp: bool = True  # bf16/fp16 autocast on CUDA only; CPU always runs fp32
    # Learning-rate multiplier for the conditioning layers a fine-tune can switch on, which
    # start at zero (`ADDED_LAYERS`: frames to the end, per-person texts): at the base rate a
    # 1000-step fine-tune left the per-person text layer at 1/20 of the text layer's norm.
    added_layer_lr_scale: float = 1.0

    def __post_init__(self) -> None:
        # Values torch's optimiser, clipping and EMA would refuse mid-run, or misuse silently.
        for name in ("added_layer_lr_scale", "lr", "grad_clip"):
            _check_number(name, getattr(self, name), "a number > 0", lambda v: 0 < v < math.inf)
        _check_number(
            "weight_decay", self.weight_decay, "a number >= 0", lambda v: 0 <= v < math.inf
        )
        _check_number("ema_decay", self.ema_decay, "a number from 0 up to 1", lambda v: 0 <= v < 1)
        _check_whole("steps", self.steps, 0)
        _check_whole("warmup_steps", self.warmup_steps, 0)


# Seeds a run takes: 0 … SEEDS - 1. torch's generators overflow beyond 2^63, and the data and
# the evaluation derive further seeds from a run's (`intersyn evaluate`: 1000 × seed + r).
SEEDS = 2**32


@dataclass(frozen=True)
class TrainConfig:
    """A whole two-stage run."""

    name: str = "cpu"
    model: ModelConfig = field(default_factory=ModelConfig)
    diffusion: DiffusionConfig = field(default_factory=DiffusionConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    data: DataConfig = field(default_factory=DataConfig)
    ins: OptimConfig = field(default_factory=OptimConfig)  # stage 1: the denoiser M_s
    rec: OptimConfig = field(default_factory=lambda: OptimConfig(steps=2_000))  # stage 2: M_c
    text_encoder: str = "wordllama"  # one of intersyn.text.TEXT_ENCODERS
    # local CLIP folder (text_encoder="clip"), trained text_encoder.pt ("aligned"; its weights
    # are then kept in every inference checkpoint, so generation does not need the file) or an
    # optional local sentence-transformers folder ("minilm"; default: the packaged model)
    text_path: str | None = None
    text_max_tokens: int = 64  # combined solo + interaction captions run to ~40 tokens
    log_every: int = 25  # steps between TensorBoard/progress-bar loss updates
    checkpoint_every: int = 500  # steps between checkpoints (and at the end of each stage)
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("log_every", "checkpoint_every", "text_max_tokens"):
            _check_whole(name, getattr(self, name), 1)
        if (
            isinstance(self.seed, bool)
            or not isinstance(self.seed, int)
            or not 0 <= self.seed < SEEDS
        ):
            raise InterSynError(f"seed={self.seed!r}: expected an integer from 0 to 2^32 - 1")

    @property
    def tags_person_texts(self) -> bool:
        """Whether the denoiser is trained on each person's own text (`model.person_texts`,
        given to a share of samples by `data.interleave.person_text_share`)."""
        return self.model.person_texts and self.data.interleave.person_text_share > 0

    @property
    def reads_person_texts(self) -> bool:
        """Whether the model is trained on per-person texts at all: each person's own
        (`tags_person_texts`) or joined to the interaction caption
        (`data.interleave.person_caption_share`)."""
        return self.tags_person_texts or self.data.interleave.person_caption_share > 0

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (JSON-serialisable)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainConfig:
        """Build from a nested dict; unknown keys anywhere raise InterSynError naming them."""
        return _build(cls, data, "config")

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with top-level fields replaced."""
        return dataclasses.replace(self, **changes)


def _build(cls: type, data: Mapping[str, Any], where: str) -> Any:
    if not isinstance(data, Mapping):
        raise InterSynError(f"{where}: expected a mapping, got {type(data).__name__}")
    if cls is ModelConfig:
        return ModelConfig.from_dict(data)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise InterSynError(f"{where}: unknown keys {unknown}; expected some of {sorted(fields)}")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for key, value in data.items():
        hint = hints[key]
        if dataclasses.is_dataclass(hint):
            kwargs[key] = _build(hint, value, f"{where}.{key}")
        else:
            kwargs[key] = value
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise InterSynError(f"{where}: {exc}") from None


def _tiny() -> TrainConfig:
    # Tests: a 2-layer 64-wide model, a handful of steps, no dropout (so DDP runs compare exactly).
    return TrainConfig(
        name="tiny",
        model=model_preset("tiny"),
        data=DataConfig(
            interleave=InterleaveConfig(frames=64, min_segment_frames=16, max_blend_frames=8),
            batch_size=4,
            workers=0,
            stats_samples=16,
        ),
        ins=OptimConfig(lr=1e-3, warmup_steps=2, steps=8, ema_decay=0.9),
        rec=OptimConfig(lr=1e-3, warmup_steps=2, steps=4, ema_decay=0.9),
        log_every=2,
        checkpoint_every=4,
    )


def _cpu() -> TrainConfig:
    # The shipped default model. Measured on the 2-core CPU: stage 1 runs ~1.5 steps/s at
    # batch 32 (~45 min for 4000 steps); stage 2 ~1.1 steps/s, limited by building U(·)
    # samples (every stage-2 batch is interleaved), so 500 steps (~8 min) keep both < 60 min.
    return TrainConfig(
        name="cpu",
        model=model_preset("cpu"),
        data=DataConfig(
            batch_size=32,
            workers=1,
            layouts=(
                ("s-i-s", "ts0-random-ti"),
                ("s-i", "ts0-random-ti"),
                ("i-s", "ti0-random-ts"),
                ("i", "ti0-random-ts"),
            ),
        ),
        ins=OptimConfig(lr=3e-4, warmup_steps=300, steps=4_000, ema_decay=0.998),
        rec=OptimConfig(lr=3e-4, warmup_steps=100, steps=500, ema_decay=0.995),
        checkpoint_every=250,
    )


def _paper() -> TrainConfig:
    # §5.1: 1000 steps, lr 1e-5 for both stages, batch 256, frozen CLIP ViT-L/14 (local path).
    return TrainConfig(
        name="paper",
        model=model_preset("paper"),
        data=DataConfig(batch_size=256, workers=8, stats_samples=4096),
        ins=OptimConfig(lr=1e-5, warmup_steps=1000, steps=600_000, ema_decay=0.9999),
        rec=OptimConfig(lr=1e-5, warmup_steps=1000, steps=200_000, ema_decay=0.9999),
        text_encoder="clip",
        checkpoint_every=5_000,
        log_every=100,
    )


PRESETS: dict[str, Callable[[], TrainConfig]] = {"tiny": _tiny, "cpu": _cpu, "paper": _paper}


def apply_overrides(cfg: TrainConfig, overrides: Sequence[str]) -> TrainConfig:
    """`cfg` with `KEY=VALUE` entries applied (dotted paths; VALUE parsed as JSON, else text).

    Unknown keys and values of the wrong kind raise InterSynError naming the entry.
    """
    data = cfg.to_dict()
    for entry in overrides:
        key, sep, raw = entry.partition("=")
        if not sep or not key.strip():
            raise InterSynError(f"--set {entry!r}: expected KEY=VALUE, e.g. loss.lambda_rela=0")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        node, kind = data, TrainConfig
        *parents, leaf = key.strip().split(".")
        for part in parents:
            if not isinstance(node.get(part), dict):
                raise InterSynError(f"--set {entry!r}: {key!r} is not a config entry")
            node, kind = node[part], typing.get_type_hints(kind)[part]
        if leaf not in node:
            raise InterSynError(f"--set {entry!r}: {key!r} is not a config entry")
        node[leaf] = _of_kind(typing.get_type_hints(kind)[leaf], value, raw, entry)
    return TrainConfig.from_dict(data)


def _of_kind(hint: Any, value: object, raw: str, entry: str) -> object:
    """`value` (`raw` parsed as JSON) as the entry's declared type `hint`: null where the entry
    is optional, a whole number where it is a float, text as written where it is text ("1e-4"
    stays text for a path), a list where it is a sequence; any other mismatch ("ins.lr=abc",
    "ins.steps=1.5") is refused by name. Values are then checked by the configs themselves."""
    union = typing.get_origin(hint) in (typing.Union, types.UnionType)
    options = typing.get_args(hint) if union else (hint,)
    if value is None and type(None) in options:
        return None
    kinds = [k for k in options if k is not type(None)]
    base = (typing.get_origin(kinds[0]) or kinds[0]) if len(kinds) == 1 else None
    if base is str:
        return value if isinstance(value, str) else raw
    if base is bool:
        expected = isinstance(value, bool)
    elif base is int:
        expected = isinstance(value, int) and not isinstance(value, bool)
    elif base is float:
        expected = isinstance(value, (int, float)) and not isinstance(value, bool)
        if expected:
            try:
                value = float(value)
            except OverflowError:
                expected = False
    elif base in (tuple, list):
        expected = isinstance(value, list)
    else:  # anything else: the config's own checks decide
        expected = True
    if not expected:
        kind = {bool: "true or false", int: "a whole number", float: "a number"}.get(
            base, "a JSON list" if base in (tuple, list) else getattr(base, "__name__", str(base))
        )
        if type(None) in options:
            kind += " or null"
        raise InterSynError(f"--set {entry!r}: expected {kind}, got {raw!r}")
    return value


def train_preset(name: str) -> TrainConfig:
    """The named training preset; unknown names raise InterSynError listing the valid ones."""
    if name not in PRESETS:
        raise InterSynError(f"config {name!r}: unknown; expected one of {', '.join(PRESETS)}")
    return PRESETS[name]()
