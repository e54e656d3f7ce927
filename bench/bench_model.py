"""Time the denoiser M_s and the coordinator M_c for each model preset on this machine.

Run: `python bench/bench_model.py [--presets tiny cpu paper] [--batch 64] [--threads 2]`.
Prints parameters, forward+backward seconds per batch (B × 2 people × 196 frames) and
samples/s for a training step of each network, plus a forward-only (sampling) step of M_s.
SPEC §3: the cpu preset's two training stages must fit in < 60 min on 2 cores.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch

from intersyn.models import (
    PRESET_NAMES,
    Condition,
    ModelConfig,
    build_coordinator,
    build_denoiser,
    model_preset,
)


def make_inputs(cfg: ModelConfig, batch: int, frames: int, text_tokens: int, seed: int = 0):
    """Random normalised pair motion, masks and condition for one batch (half of them solo-then-pair)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, cfg.people, frames, cfg.feature_dim, generator=g)
    presence = torch.ones(batch, cfg.people, frames, dtype=torch.bool)
    presence[: batch // 2, 1, : frames // 3] = False  # a solo segment before the interaction
    valid = torch.ones(batch, frames, dtype=torch.bool)
    t_i = torch.where(torch.arange(batch) < batch // 2, frames // 3, 0)
    t_s = torch.where(torch.arange(batch) < batch // 2, 0, -1)
    cond = Condition(
        text_tokens=torch.randn(batch, text_tokens, cfg.text_dim, generator=g),
        text_mask=torch.ones(batch, text_tokens, dtype=torch.bool),
        text_pooled=torch.randn(batch, cfg.text_dim, generator=g),
        interaction_start=t_i,
        solo_start=t_s,
        cond_drop=torch.rand(batch, generator=g) < 0.1,
    )
    t = torch.randint(0, 1000, (batch,), generator=g)
    return x, t, cond, presence, valid


def best_time(step: Callable[[], None], repeats: int) -> float:
    """Best wall-clock seconds of `step` over `repeats` runs after one warm-up."""
    step()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        best = min(best, time.perf_counter() - start)
    return best


def bench_preset(name: str, batch: int, frames: int, text_tokens: int, repeats: int) -> None:
    cfg = model_preset(name)
    torch.manual_seed(0)
    denoiser, coordinator = build_denoiser(cfg), build_coordinator(cfg)
    x, t, cond, presence, valid = make_inputs(cfg, batch, frames, text_tokens)

    def denoiser_train() -> None:
        denoiser.zero_grad(set_to_none=True)
        denoiser(x, t, cond, presence, valid).square().mean().backward()

    def denoiser_sample() -> None:
        denoiser.eval()  # sampling: no dropout
        with torch.inference_mode():
            denoiser(x, t, cond, presence, valid)
        denoiser.train()

    def coordinator_train() -> None:
        coordinator.zero_grad(set_to_none=True)
        refined = coordinator(x[:, 1], x[:, 0], cond, presence[:, [1, 0]], valid)
        refined.square().mean().backward()

    denoiser.train()
    coordinator.train()
    rows = [
        (
            "M_s fwd+bwd",
            sum(p.numel() for p in denoiser.parameters()),
            best_time(denoiser_train, repeats),
        ),
        ("M_s fwd (sampling)", None, best_time(denoiser_sample, repeats)),
        (
            "M_c fwd+bwd",
            sum(p.numel() for p in coordinator.parameters()),
            best_time(coordinator_train, repeats),
        ),
    ]
    for label, params, seconds in rows:
        size = f"{params / 1e6:7.2f} M params" if params is not None else " " * 16
        print(
            f"{name:6s} {label:18s} {size}  {seconds:8.3f} s/batch  {batch / seconds:8.1f} samples/s",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=list(PRESET_NAMES), choices=PRESET_NAMES)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--frames", type=int, default=196)
    parser.add_argument("--text-tokens", type=int, default=24, help="caption tokens L")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, {args.threads} threads, batch {args.batch} × 2 people × "
        f"{args.frames} frames, {args.text_tokens} text tokens"
    )
    for name in args.presets:
        repeats = 1 if name == "paper" else args.repeats  # a paper-size step takes tens of seconds
        bench_preset(name, args.batch, args.frames, args.text_tokens, repeats)


if __name__ == "__main__":
    main()
