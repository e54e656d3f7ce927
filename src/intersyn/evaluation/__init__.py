"""Evaluator networks (Guo et al. T2M, InterGen InterCLIP) that embed text and motion for the metrics."""

from intersyn.evaluation.evaluators import (
    InterClip,
    InterClipConfig,
    InterClipMotionEncoder,
    MotionEncoderBiGRUCo,
    MovementConvEncoder,
    T2MEvaluator,
    T2MEvaluatorConfig,
    TextEncoderBiGRUCo,
    contrastive_loss,
    interclip_config,
    load_interclip_checkpoint,
    load_interclip_state,
    load_t2m_checkpoint,
    load_t2m_state,
    t2m_evaluator_config,
)

__all__ = [
    "InterClip",
    "InterClipConfig",
    "InterClipMotionEncoder",
    "MotionEncoderBiGRUCo",
    "MovementConvEncoder",
    "T2MEvaluator",
    "T2MEvaluatorConfig",
    "TextEncoderBiGRUCo",
    "contrastive_loss",
    "interclip_config",
    "load_interclip_checkpoint",
    "load_interclip_state",
    "load_t2m_checkpoint",
    "load_t2m_state",
    "t2m_evaluator_config",
]
