"""Diffusion maths for an x0-predicting model: schedules, samplers and classifier-free guidance."""

from intersyn.diffusion.guidance import COND_DROP_PROB, Guidance, drop_condition, guided_denoiser
from intersyn.diffusion.samplers import DenoiseFn, ddim_sample, ddpm_sample
from intersyn.diffusion.schedule import (
    SCHEDULE_NAMES,
    NoiseSchedule,
    cosine_betas,
    linear_betas,
    sampling_timesteps,
)

__all__ = [
    "COND_DROP_PROB",
    "SCHEDULE_NAMES",
    "DenoiseFn",
    "Guidance",
    "NoiseSchedule",
    "cosine_betas",
    "ddim_sample",
    "ddpm_sample",
    "drop_condition",
    "guided_denoiser",
    "linear_betas",
    "sampling_timesteps",
]
