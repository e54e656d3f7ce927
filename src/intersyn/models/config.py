"""ModelConfig: the shape of the CMDM denoiser M_s (Eq. 6) and the coordinator M_c (Eq. 9–10).

Presets: `tiny` (tests), `cpu` (sized for 2 CPU cores, see bench/bench_model.py) and `paper`
(§5.1: 8 layers × 512, one frame per token, CLIP-L text features).
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from intersyn.errors import InterSynError
from intersyn.kinematics.pair import ANCHORS, PAIR_FEATURE_DIM, PLACEMENT_DIM


@dataclass(frozen=True)
class ModelConfig:
    """Every size of both networks; the resolved config travels inside each checkpoint."""

    # Data contract
    feature_dim: int = PAIR_FEATURE_DIM  # 263 HumanML3D + 4 placement channels (cos ψ, sin ψ, x, z)
    people: int = 2  # P: person x (index 0) and partner y (index 1); more people go pairwise (M_c)
    text_dim: int = 256  # C_text: 256 for the offline wordllama encoder, 768 for CLIP-L
    max_frames: int = 196  # 9.8 s at 20 fps, HumanML3D's and InterSyn's longest sequence
    # Denoiser M_s
    width: int = 256  # token width; cost grows with width², 256 fits the 2-core budget
    layers: int = 4  # Transformer blocks
    heads: int = 4  # attention heads; width must divide by it
    ff_mult: int = 2  # FFN hidden = ff_mult × width (MDM: 1024 / 512 = 2)
    dropout: float = 0.0  # attention weights + residual branches; paper 0.1 (MDM). 0 on CPU: it
    # costs ~15% of a step, and a one-hour CPU run underfits rather than overfits
    patch_frames: int = 4  # frames per token: 4 → 49 tokens per person for 196 frames
    # Coordinator M_c
    coordinator_width: int = 256
    coordinator_layers: int = 2  # it only corrects placement and adds a residual: shallow suffices
    coordinator_heads: int = 4
    coordinator_patch_frames: int = 4  # its own patching: it runs once per sample, not per step
    # Where a partner's placement channels are measured from (`kinematics.pair`): "run" =
    # person x's pose when the partner appears (the presets); "run_end" = where the partner
    # stands in person x's pose when it leaves (or the window ends); "sequence" = person x's
    # pose at frame 0, what checkpoints made before this field existed were trained with.
    placement_anchor: str = "sequence"
    # The denoiser also reads each frame's distance to the motion's end, where the motion ends
    # with the sample (`Condition.motion_ends`): without it a window cut from a longer clip and
    # one that ends as its clip ends look alike, and generated walks never slow to a stop.
    # Its layer starts at zero, so switching it on keeps a trained model's output.
    end_positions: bool = False
    # The denoiser also reads each person's own text (`intersyn generate --person-text /
    # --partner-text`; U(·) draws them from a clip's per-person captions): that person's
    # sentence feature, through a layer of its own, added to that person's tokens only, so
    # "leads the way" is tied to one person, not to the pair. The layer starts at zero, so
    # switching it on keeps a trained model's output.
    person_texts: bool = False

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in ("dropout", "placement_anchor", "end_positions", "person_texts"):
                continue
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InterSynError(
                    f"model config {f.name}: expected an integer >= 1, got {value!r}"
                )
        if not isinstance(self.dropout, (int, float)) or not 0.0 <= float(self.dropout) < 1.0:
            raise InterSynError(
                f"model config dropout: expected a float in [0, 1), got {self.dropout!r}"
            )
        for name in ("end_positions", "person_texts"):
            if not isinstance(getattr(self, name), bool):
                raise InterSynError(
                    f"model config {name}: expected true or false, got {getattr(self, name)!r}"
                )
        if self.placement_anchor not in ANCHORS:
            raise InterSynError(
                f"model config placement_anchor: expected one of {ANCHORS}, "
                f"got {self.placement_anchor!r}"
            )
        if self.feature_dim <= PLACEMENT_DIM:
            raise InterSynError(
                f"model config feature_dim: expected > {PLACEMENT_DIM} (pose + placement channels), "
                f"got {self.feature_dim}"
            )
        for width, heads in (("width", "heads"), ("coordinator_width", "coordinator_heads")):
            if getattr(self, width) % getattr(self, heads):
                raise InterSynError(
                    f"model config {width}={getattr(self, width)}: expected a multiple of "
                    f"{heads}={getattr(self, heads)}"
                )
        if self.width % 2 or self.coordinator_width % 2:
            raise InterSynError(
                "model config width, coordinator_width: expected even numbers (sinusoidal embeddings)"
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of every field (JSON-serialisable)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelConfig:
        """Build from a dict; unknown keys and wrongly typed values raise InterSynError."""
        if not isinstance(data, Mapping):
            raise InterSynError(f"model config: expected a mapping, got {type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InterSynError(
                f"model config: unknown keys {unknown}; expected some of {sorted(known)}"
            )
        hints = typing.get_type_hints(cls)
        for key, value in data.items():
            want = hints[key]
            ok = isinstance(value, (int, float)) if want is float else isinstance(value, want)
            if not ok or (isinstance(value, bool) and want is not bool):
                raise InterSynError(f"model config {key}: expected {want.__name__}, got {value!r}")
        return cls(**{k: float(v) if hints[k] is float else v for k, v in data.items()})


def _tiny() -> ModelConfig:
    # Unit tests: a few thousand parameters per block, runs in milliseconds.
    return ModelConfig(
        width=64,
        layers=2,
        heads=4,
        ff_mult=2,
        dropout=0.0,
        patch_frames=4,
        coordinator_width=32,
        coordinator_layers=2,
        coordinator_heads=2,
        coordinator_patch_frames=4,
        placement_anchor="run",
    )


def _cpu() -> ModelConfig:
    # Sized with bench/bench_model.py for 2 cores (SPEC §3): 2 × 49 motion tokens per sample.
    return ModelConfig(placement_anchor="run")


def _paper() -> ModelConfig:
    # §5.1 / MDM shape: 8 layers, 512 wide, 4 heads, FFN 1024, dropout 0.1, one frame per token.
    return ModelConfig(
        text_dim=768,
        width=512,
        layers=8,
        heads=4,
        ff_mult=2,
        dropout=0.1,
        patch_frames=1,
        coordinator_width=512,
        coordinator_layers=4,
        coordinator_heads=4,
        coordinator_patch_frames=1,
        placement_anchor="run",
    )


_PRESETS: dict[str, Callable[[], ModelConfig]] = {"tiny": _tiny, "cpu": _cpu, "paper": _paper}
PRESET_NAMES: tuple[str, ...] = tuple(_PRESETS)


def model_preset(name: str) -> ModelConfig:
    """The named ModelConfig: "tiny", "cpu" or "paper"."""
    if name not in _PRESETS:
        raise InterSynError(
            f"model preset: unknown name {name!r}; expected one of {', '.join(PRESET_NAMES)}"
        )
    return _PRESETS[name]()
