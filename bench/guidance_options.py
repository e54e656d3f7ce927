"""The guidance options the benches share, with the defaults `intersyn generate` samples with
(scale 2.5, guidance at every step, projected guidance, people kept 0.3 m apart), so a bench
measures what users get unless told otherwise."""

from __future__ import annotations

import argparse

from intersyn.pipeline import DEFAULT_GUIDANCE_PARALLEL, DEFAULT_MIN_DISTANCE

DEFAULT_GUIDANCE_SCALE = 2.5
_NAMES = ("guidance", "guidance_max_step", "guidance_parallel", "min_distance")


def add_guidance_options(
    parser: argparse.ArgumentParser, *, scale: bool = True, max_step: bool = True
) -> None:
    """Add `--guidance-parallel` and `--min-distance`, and unless told not to `--guidance` and
    `--guidance-max-step`."""
    if scale:
        parser.add_argument("--guidance", type=float, default=DEFAULT_GUIDANCE_SCALE)
    if max_step:
        parser.add_argument(
            "--guidance-max-step", type=int, help="guide only at diffusion steps <= this"
        )
    parser.add_argument(
        "--guidance-parallel",
        type=float,
        default=DEFAULT_GUIDANCE_PARALLEL,
        help="weight of the guidance update along the text prediction (1: classifier-free)",
    )
    parser.add_argument(
        "--min-distance",
        type=float,
        default=DEFAULT_MIN_DISTANCE,
        help="metres kept between people's pelvises while sampling (0: none)",
    )


def guidance_settings(args: argparse.Namespace) -> dict[str, float | int | None]:
    """The parsed guidance options by the names the pipeline's sampling methods take (and the
    benches' result files record)."""
    return {name: getattr(args, name) for name in _NAMES if hasattr(args, name)}
