"""Training: checkpoints, EMA, the loop and its two stages, multi-device helpers."""
