"""Checked atomic checkpoints, RNG state capture, EMA."""

import random

import numpy as np
import pytest
import torch

from intersyn import InterSynError
from intersyn.training.checkpoint import (
    EMA,
    MAGIC,
    load_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)


def payload():
    model = torch.nn.Linear(4, 3)
    return {"model": model.state_dict(), "step": 7, "config": {"name": "tiny", "lr": 1e-4}}


def test_round_trip_and_digest(tmp_path):
    path = tmp_path / "ckpt.pt"
    digest = save_checkpoint(path, payload())
    loaded = load_checkpoint(path)
    assert loaded["step"] == 7 and loaded["config"]["name"] == "tiny"
    assert loaded["sha256"] == digest and len(digest) == 64
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize("damage", ["truncate", "flip", "header", "empty"])
def test_corrupted_checkpoint_never_loads(tmp_path, damage):
    path = tmp_path / "ckpt.pt"
    save_checkpoint(path, payload())
    raw = bytearray(path.read_bytes())
    if damage == "truncate":
        raw = raw[: len(raw) // 2]
    elif damage == "flip":
        raw[-100] ^= 0xFF
    elif damage == "header":
        raw[:8] = b"PK\x03\x04xxxx"
    else:
        raw = bytearray()
    path.write_bytes(bytes(raw))
    with pytest.raises(InterSynError, match=str(path.name)) as info:
        load_checkpoint(path)
    assert "\n" not in str(info.value)


def test_plain_torch_file_is_refused(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"a": 1}, path)
    with pytest.raises(InterSynError, match="not an InterSyn checkpoint"):
        load_checkpoint(path)
    with pytest.raises(InterSynError, match="file not found"):
        load_checkpoint(tmp_path / "missing.pt")
    with pytest.raises(InterSynError, match="is a directory; expected a checkpoint file"):
        load_checkpoint(tmp_path)


def test_a_checkpoint_path_may_start_with_the_home_folder(tmp_path, monkeypatch):
    save_checkpoint(tmp_path / "run.pt", {"steps": {"ins": 3}})
    monkeypatch.setenv("HOME", str(tmp_path))
    assert load_checkpoint("~/run.pt")["steps"] == {"ins": 3}


def test_interrupted_write_keeps_old_file(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.pt"
    save_checkpoint(path, payload())
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("intersyn.io.os.replace", boom)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, {**payload(), "step": 8})
    assert path.read_bytes() == before and path.read_bytes().startswith(MAGIC)
    assert not list(tmp_path.glob(".*.tmp"))


def test_rng_state_round_trip(tmp_path):
    state = rng_state()
    expected = (random.random(), np.random.rand(), torch.rand(1).item())
    path = tmp_path / "rng.pt"
    save_checkpoint(path, {"rng": state})
    set_rng_state(load_checkpoint(path)["rng"])
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expected


def test_ema_tracks_average():
    module = torch.nn.Linear(2, 1, bias=False)
    torch.nn.init.zeros_(module.weight)
    ema = EMA(module, decay=0.5, warmup=False)
    with torch.no_grad():
        module.weight.fill_(1.0)
    ema.update(module)
    ema.update(module)
    assert torch.allclose(ema.shadow["weight"], torch.full((1, 2), 0.75))
    target = torch.nn.Linear(2, 1, bias=False)
    ema.copy_to(target)
    assert torch.allclose(target.weight, torch.full((1, 2), 0.75))
    with pytest.raises(InterSynError, match="decay"):
        EMA(module, decay=1.0)


def test_ema_warmup_forgets_the_initial_weights_early():
    module = torch.nn.Linear(2, 1, bias=False)
    torch.nn.init.zeros_(module.weight)
    warm, constant = EMA(module, decay=0.998), EMA(module, decay=0.998, warmup=False)
    with torch.no_grad():
        module.weight.fill_(1.0)
    for _ in range(1000):
        warm.update(module)
        constant.update(module)
    # Constant decay keeps 0.998 ** 1000 = 13.5 % of the zero initial weights.
    assert torch.allclose(constant.shadow["weight"], torch.full((1, 2), 1 - 0.998**1000))
    assert warm.shadow["weight"].min() > 0.999
    assert warm.current_decay() == pytest.approx(1001 / 1010)  # still ramping towards 0.998
    restored = EMA(module, decay=0.5)
    restored.load_state_dict(warm.state_dict())
    assert (restored.updates, restored.warmup, restored.decay) == (1000, True, 0.998)
    legacy = {"decay": 0.998, "shadow": warm.shadow}  # written before the warm-up existed
    restored.load_state_dict(legacy)
    assert restored.current_decay() == 0.998


def test_ema_loaded_from_a_cpu_checkpoint_stays_on_the_module_device():
    # A CUDA run resumed from latest.pt (loaded on the CPU) failed at its first EMA update with
    # "found at least two devices". The meta device stands in for CUDA here.
    saved = EMA(torch.nn.Linear(2, 1), decay=0.5).state_dict()
    module = torch.nn.Linear(2, 1, device="meta")
    ema = EMA(module, decay=0.5)
    ema.load_state_dict(saved)
    assert {value.device.type for value in ema.shadow.values()} == {"meta"}
    ema.update(module)  # mixing devices would raise here
    assert saved["shadow"]["weight"].device.type == "cpu"  # the loaded state is not moved
