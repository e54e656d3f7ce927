"""The two networks: the CMDM denoiser M_s (Eq. 6) and the coordinator M_c (Eq. 9–10)."""

from intersyn.models.config import PRESET_NAMES, ModelConfig, model_preset
from intersyn.models.coordinator import (
    Coordinator,
    apply_placement_correction,
    build_coordinator,
    placement_increment,
)
from intersyn.models.denoiser import MotionDenoiser, build_denoiser
from intersyn.models.layers import Condition

__all__ = [
    "PRESET_NAMES",
    "Condition",
    "Coordinator",
    "ModelConfig",
    "MotionDenoiser",
    "apply_placement_correction",
    "build_coordinator",
    "build_denoiser",
    "model_preset",
    "placement_increment",
]
