"""Multi-process training through an existing launcher (`torchrun`); no process management here.

`torchrun --nproc_per_node N -m intersyn train ...` sets RANK, WORLD_SIZE and LOCAL_RANK; we
join the process group (NCCL on CUDA, gloo on CPU) and wrap the trained module in DDP.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from intersyn.errors import InterSynError


@dataclass(frozen=True)
class DistInfo:
    """This process's place in the run."""

    rank: int
    world: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def pick_device(preference: str = "auto", local_rank: int = 0) -> torch.device:
    """CUDA when present (or asked for), else CPU."""
    if preference == "auto":
        return (
            torch.device(f"cuda:{local_rank}") if torch.cuda.is_available() else torch.device("cpu")
        )
    if preference.startswith("cuda") and not torch.cuda.is_available():
        raise InterSynError(f"device {preference!r}: CUDA is not available on this machine")
    if preference not in ("cpu",) and not preference.startswith("cuda"):
        raise InterSynError(f"device {preference!r}: expected auto, cpu, cuda or cuda:N")
    return torch.device(preference)


def init_distributed(device: str = "auto") -> DistInfo:
    """Join the torchrun process group when launched by it; a single process otherwise."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    chosen = pick_device(device, local_rank)
    if world > 1 and not dist.is_initialized():
        backend = "nccl" if chosen.type == "cuda" else "gloo"
        if chosen.type == "cuda":
            torch.cuda.set_device(chosen)
        dist.init_process_group(backend=backend)
    return DistInfo(rank, world, local_rank, chosen)


def all_mean(value: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """Mean of a scalar over all processes (for logging identical numbers everywhere)."""
    if info.world == 1:
        return value.detach()
    out = value.detach().clone()
    dist.all_reduce(out, op=dist.ReduceOp.SUM)
    return out / info.world


def barrier(info: DistInfo) -> None:
    if info.world > 1:
        dist.barrier()


def shutdown(info: DistInfo) -> None:
    if info.world > 1 and dist.is_initialized():
        dist.destroy_process_group()
