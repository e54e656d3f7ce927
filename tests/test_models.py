"""Tests of the CMDM denoiser M_s, the coordinator M_c, their layers and ModelConfig."""

from __future__ import annotations

import dataclasses
import math
import time

import pytest
import torch

from intersyn.errors import InterSynError
from intersyn.kinematics import rotations as rot
from intersyn.kinematics.pair import PAIR_FEATURE_DIM, features_to_pair
from intersyn.models import (
    PRESET_NAMES,
    Condition,
    ModelConfig,
    apply_placement_correction,
    build_coordinator,
    build_denoiser,
    model_preset,
)
from intersyn.models.layers import ScalarEmbedding, patch_mask, patchify, unpatchify

B, T, L = 3, 22, 5  # T not a multiple of the 4-frame patch on purpose
D = PAIR_FEATURE_DIM


def tiny() -> ModelConfig:
    return model_preset("tiny")


def make_batch(cfg: ModelConfig, seed: int = 0, people: int = 2):
    """A seeded batch: sample 0 solo-then-pair, 1 pair only, 2 solo only, with padding on 1."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(B, people, T, cfg.feature_dim, generator=g)
    presence = torch.ones(B, people, T, dtype=torch.bool)
    presence[0, 1:, :9] = False  # partner absent during the solo segment
    presence[2, 1:] = False  # solo-only sample
    valid = torch.ones(B, T, dtype=torch.bool)
    valid[1, 17:] = False  # padding
    text_mask = torch.ones(B, L, dtype=torch.bool)
    text_mask[0, 3:] = False
    cond = Condition(
        text_tokens=torch.randn(B, L, cfg.text_dim, generator=g),
        text_mask=text_mask,
        text_pooled=torch.randn(B, cfg.text_dim, generator=g),
        interaction_start=torch.tensor([9, 0, -1]),
        solo_start=torch.tensor([0, -1, 0]),
        cond_drop=torch.tensor([False, False, False]),
    )
    t = torch.tensor([5, 400, 999])
    return x, t, cond, presence, valid


def unzero(model: torch.nn.Module, seed: int = 1) -> torch.nn.Module:
    """Give every all-zero parameter (zero-initialised heads, AdaLN, biases) small random values."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            if not p.any():
                p.copy_(torch.randn(p.shape, generator=g) * 0.05)
    return model.eval()


def frame_mask(presence: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    return presence & valid[:, None, :]


def plain_and_switched_on(cfg: ModelConfig, layer: str, **switch: bool):
    """A trained-looking denoiser of `cfg` and the same one with a zero-started conditioning
    layer switched on (`switch`, e.g. end_positions=True), loaded from it: only `layer` is new."""
    torch.manual_seed(0)
    plain = unzero(build_denoiser(cfg))
    model = build_denoiser(dataclasses.replace(cfg, **switch)).eval()
    missing, unexpected = model.load_state_dict(plain.state_dict(), strict=False)
    assert sorted(missing) == [f"{layer}.bias", f"{layer}.weight"] and not unexpected
    return plain, model


# ---------------------------------------------------------------------------------------------
# Layers
# ---------------------------------------------------------------------------------------------


def test_patchify_round_trip_and_token_mask() -> None:
    x = torch.randn(2, 3, 10, 5)
    p = patchify(x, 4)  # (2, 3, 3, 20), the last token padded with 2 zero frames
    assert p.shape == (2, 3, 3, 20)
    assert torch.equal(p[..., 0, 5:10], x[..., 1, :])
    assert torch.equal(p[..., 2, 10:], torch.zeros(2, 3, 10))
    assert torch.equal(unpatchify(p, 4, 10), x)
    mask = torch.zeros(1, 10, dtype=torch.bool)
    mask[0, 5] = True
    assert patch_mask(mask, 4).tolist() == [[False, True, False]]


def test_scalar_embedding_has_its_own_absent_vector() -> None:
    torch.manual_seed(0)
    emb = ScalarEmbedding(16, absent=True)
    out = emb(torch.tensor([-1, 0, 7, -1]))
    assert torch.equal(out[0], emb.absent.detach()) and torch.equal(out[3], emb.absent.detach())
    assert not torch.allclose(out[1], out[2]) and not torch.allclose(out[0], out[1])


def test_condition_repeat_and_repeat_interleave() -> None:
    _, _, cond, _, _ = make_batch(tiny())
    tiled, inter = cond.repeat(2), cond.repeat_interleave(2)
    assert tiled.batch_size == inter.batch_size == 2 * B
    assert tiled.interaction_start.tolist() == [9, 0, -1, 9, 0, -1]
    assert inter.interaction_start.tolist() == [9, 9, 0, 0, -1, -1]
    assert torch.equal(tiled.text_tokens[B + 1], cond.text_tokens[1])
    assert torch.equal(inter.text_mask[1], cond.text_mask[0])
    tiled.check(2 * B, tiny().text_dim)
    assert tiled.motion_ends is None and tiled.ends().tolist() == [False] * 2 * B
    ends = dataclasses.replace(cond, motion_ends=torch.tensor([True, False, True]))
    assert ends.repeat_interleave(2).motion_ends.tolist() == [True, True, False, False, True, True]
    assert Condition.cat([cond, ends]).motion_ends.tolist() == [False] * 3 + [True, False, True]
    assert ends.select(torch.tensor([2])).motion_ends.tolist() == [True]


# ---------------------------------------------------------------------------------------------
# Denoiser M_s
# ---------------------------------------------------------------------------------------------


def test_denoiser_shape_and_zero_initial_prediction() -> None:
    torch.manual_seed(0)
    cfg = tiny()
    model = build_denoiser(cfg)
    x, t, cond, presence, valid = make_batch(cfg)
    out = model(x, t, cond, presence, valid)
    assert out.shape == (B, 2, T, D)
    assert torch.equal(out, torch.zeros_like(out))  # the normalised mean


def test_denoiser_masked_frames_do_not_influence_present_frames() -> None:
    torch.manual_seed(0)
    cfg = tiny()
    model = unzero(build_denoiser(cfg))
    x, t, cond, presence, valid = make_batch(cfg)
    mask = frame_mask(presence, valid)
    out = model(x, t, cond, presence, valid)
    assert out[mask].abs().min() > 0  # a real prediction at present frames
    assert torch.equal(out[~mask], torch.zeros_like(out[~mask]))  # exactly 0 elsewhere
    x2 = torch.where(mask[..., None], x, 100 * torch.randn_like(x))
    tokens2 = torch.where(cond.text_mask[..., None], cond.text_tokens, 50.0)  # padded text tokens
    cond2 = dataclasses.replace(cond, text_tokens=tokens2)
    out2 = model(x2, t, cond2, presence, valid)
    torch.testing.assert_close(out2[mask], out[mask], atol=1e-6, rtol=0)


def test_denoiser_output_does_not_depend_on_the_amount_of_padding() -> None:
    torch.manual_seed(0)
    cfg = tiny()
    model = unzero(build_denoiser(cfg))
    x, t, cond, presence, valid = make_batch(cfg)
    one = cond.select(slice(1, 2))
    padded = model(x[1:2], t[1:2], one, presence[1:2], valid[1:2])  # 17 valid of 22 frames
    short = model(x[1:2, :, :17], t[1:2], one, presence[1:2, :, :17], valid[1:2, :17])
    torch.testing.assert_close(padded[..., :17, :], short, atol=1e-6, rtol=0)


def test_denoiser_partner_absent_everywhere_does_not_change_person_x() -> None:
    torch.manual_seed(0)
    cfg = tiny()
    model = unzero(build_denoiser(cfg))
    x, t, cond, presence, valid = make_batch(cfg)
    presence[:, 1] = False
    out = model(x, t, cond, presence, valid)
    x2 = x.clone()
    x2[:, 1] = torch.randn_like(x2[:, 1]) * 10
    torch.testing.assert_close(
        model(x2, t, cond, presence, valid)[:, 0], out[:, 0], atol=1e-6, rtol=0
    )
    # ...whereas a present partner does change person x (the two people attend to each other)
    presence[:, 1] = True
    assert not torch.allclose(
        model(x2, t, cond, presence, valid)[:, 0], model(x, t, cond, presence, valid)[:, 0]
    )


@pytest.mark.parametrize(
    "field", ["t", "interaction_start", "solo_start", "text_tokens", "text_pooled"]
)
def test_denoiser_each_condition_changes_the_output(field: str) -> None:
    torch.manual_seed(0)
    cfg = tiny()
    model = unzero(build_denoiser(cfg))
    x, t, cond, presence, valid = make_batch(cfg)
    mask = frame_mask(presence, valid)
    base = model(x, t, cond, presence, valid)
    if field == "t":
        t = (t + 37) % 1000
    elif field in ("interaction_start", "solo_start"):
        # includes 9 → −1 and −1 → 3: a missing segment has its own embedding
        cond = dataclasses.replace(cond, **{field: torch.tensor([-1, 3, 12])})
    else:
        cond = dataclasses.replace(cond, **{field: getattr(cond, field) + 0.5})
    changed = model(x, t, cond, presence, valid)
    per_sample = (changed - base).abs().mul(mask[..., None]).flatten(1).amax(1)  # (B,)
    assert (per_sample > 1e-4).all(), per_sample


def test_end_positions_start_as_the_model_without_them_and_act_only_where_motion_ends() -> None:
    cfg = tiny()
    plain, model = plain_and_switched_on(cfg, "end_in", end_positions=True)
    x, t, cond, presence, valid = make_batch(cfg)
    ends = dataclasses.replace(cond, motion_ends=torch.tensor([True, True, False]))
    base = plain(x, t, cond, presence, valid)
    # Zero-initialised: the same output as the model it starts from, ends or not.
    assert torch.equal(model(x, t, ends, presence, valid), base)
    with torch.no_grad():
        model.end_in.weight.normal_(0.0, 0.05)
    mask = frame_mask(presence, valid)
    changed = (model(x, t, ends, presence, valid) - base).abs().mul(mask[..., None])
    per_sample = changed.flatten(1).amax(1)
    assert (per_sample[:2] > 1e-4).all() and per_sample[2] == 0, per_sample
    # Not known (None) reads as "goes on past the sample".
    assert torch.equal(model(x, t, cond, presence, valid), base)
    # The end is the last valid frame: padding moves it.
    shorter = valid.clone()
    shorter[0, 20:] = False
    a = model(x, t, ends, presence, valid)[0, 0, :8]
    b = model(x, t, ends, presence, shorter)[0, 0, :8]
    assert not torch.allclose(a, b)


def test_cond_drop_makes_the_output_independent_of_the_text() -> None:
    torch.manual_seed(0)
    cfg = tiny()
    model = unzero(build_denoiser(cfg))
    x, t, cond, presence, valid = make_batch(cfg)
    drop = dataclasses.replace(cond, cond_drop=torch.ones(B, dtype=torch.bool))
    other = dataclasses.replace(
        drop,
        text_tokens=torch.randn_like(cond.text_tokens),
        text_pooled=torch.full_like(cond.text_pooled, float("nan")),  # not even NaN leaks
        text_mask=torch.zeros_like(cond.text_mask),
    )
    dropped = model(x, t, drop, presence, valid)
    assert torch.equal(model(x, t, other, presence, valid), dropped)
    assert not torch.allclose(model(x, t, cond, presence, valid), dropped)


def test_denoiser_is_deterministic() -> None:
    cfg = tiny()
    torch.manual_seed(3)
    a = unzero(build_denoiser(cfg))
    torch.manual_seed(3)
    b = unzero(build_denoiser(cfg))
    batch = make_batch(cfg)
    out = a(*batch)
    assert torch.equal(out, a(*batch))
    assert torch.equal(out, b(*batch))


def test_gradients_reach_every_denoiser_parameter() -> None:
    torch.manual_seed(0)
    cfg = tiny()
    model = unzero(build_denoiser(cfg)).train()
    x, t, cond, presence, valid = make_batch(cfg)
    cond = dataclasses.replace(cond, cond_drop=torch.tensor([False, True, False]))
    model(x, t, cond, presence, valid).square().sum().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.any()]
    assert not missing, missing


def test_denoiser_rejects_bad_inputs() -> None:
    cfg = tiny()
    model = build_denoiser(cfg)
    x, t, cond, presence, valid = make_batch(cfg)
    with pytest.raises(InterSynError, match="x_t"):
        model(x[..., :263], t, cond, presence, valid)
    with pytest.raises(InterSynError, match="presence"):
        model(x, t, cond, presence.float(), valid)
    with pytest.raises(InterSynError, match="cond.text_pooled"):
        model(
            x, t, dataclasses.replace(cond, text_pooled=cond.text_pooled[:, :10]), presence, valid
        )
    long = torch.zeros(B, 2, cfg.max_frames + 1, D)
    with pytest.raises(InterSynError, match="max_frames"):
        model(long, t, cond, presence, valid)


def test_paper_preset_forward_backward_at_batch_2() -> None:
    cfg = model_preset("paper")
    torch.manual_seed(0)
    model = build_denoiser(cfg).train()
    coordinator = build_coordinator(cfg).train()
    params = sum(p.numel() for p in model.parameters())
    coord_params = sum(p.numel() for p in coordinator.parameters())
    assert 15e6 < params < 25e6  # near MDM's 17.9 M (REFERENCE §4.2)
    g = torch.Generator().manual_seed(0)
    frames, tokens = 196, 20
    x = torch.randn(2, 2, frames, D, generator=g)
    cond = Condition(
        torch.randn(2, tokens, 768, generator=g),
        torch.ones(2, tokens, dtype=torch.bool),
        torch.randn(2, 768, generator=g),
        torch.tensor([60, 0]),
        torch.tensor([0, -1]),
        torch.tensor([False, True]),
    )
    presence = torch.ones(2, 2, frames, dtype=torch.bool)
    valid = torch.ones(2, frames, dtype=torch.bool)
    start = time.perf_counter()
    out = model(x, torch.tensor([10, 700]), cond, presence, valid)
    out.square().mean().backward()
    refined = coordinator(out.detach()[:, 1], out.detach()[:, 0], cond, presence, valid)
    refined.square().mean().backward()
    seconds = time.perf_counter() - start
    print(
        f"paper: M_s {params / 1e6:.2f} M, M_c {coord_params / 1e6:.2f} M params, {seconds:.2f} s"
    )
    assert out.shape == (2, 2, frames, D) and torch.isfinite(out).all()
    assert all(p.grad is not None for p in model.head.parameters())


# ---------------------------------------------------------------------------------------------
# Coordinator M_c
# ---------------------------------------------------------------------------------------------


def normalised_coordinator(cfg: ModelConfig, seed: int = 0):
    torch.manual_seed(seed)
    model = build_coordinator(cfg)
    g = torch.Generator().manual_seed(seed + 100)
    model.set_normalization(torch.randn(D, generator=g), torch.rand(D, generator=g) + 0.5)
    return model


def test_coordinator_is_the_identity_at_initialisation() -> None:
    cfg = tiny()
    model = normalised_coordinator(cfg)
    x, _, cond, presence, valid = make_batch(cfg)
    refined = model(x[:, 1], x[:, 0], cond, presence[:, [1, 0]], valid)
    assert torch.equal(refined, x[:, 1])


def test_placement_correction_is_an_exact_rigid_motion() -> None:
    g = torch.Generator().manual_seed(0)
    frames = 12
    mean, std = (
        torch.randn(D, generator=g, dtype=torch.float64),
        torch.rand(D, generator=g, dtype=torch.float64) + 0.5,
    )
    psi, ox, oz = 0.7, 1.3, -0.4
    metric = torch.randn(2, frames, D, generator=g, dtype=torch.float64) * 0.1  # random pose
    metric[..., 263:] = torch.tensor([math.cos(psi), math.sin(psi), ox, oz], dtype=torch.float64)
    motion = (metric - mean) / std
    delta = torch.tensor([[0.5, 0.25, -1.0], [-2.0, 0.0, 0.3]], dtype=torch.float64)
    out = apply_placement_correction(motion, delta, mean, std)
    assert torch.equal(out[..., :263], motion[..., :263])
    got = out[..., 263:] * std[263:] + mean[263:]  # (2, frames, 4) metric
    for i, (d_psi, dx, dz) in enumerate(delta.tolist()):
        want = torch.tensor(
            [math.cos(psi + d_psi), math.sin(psi + d_psi), ox + dx, oz + dz], dtype=torch.float64
        )
        torch.testing.assert_close(got[i], want.expand(frames, 4), atol=1e-12, rtol=0)
    # decoded joints: world' = R_y(Δψ)(world − o) + o + Δ for every joint and frame
    before = features_to_pair((motion * std + mean)[:, None])[:, 0]  # (2, frames, 22, 3)
    after = features_to_pair((out * std + mean)[:, None])[:, 0]
    origin = torch.tensor([ox, 0.0, oz], dtype=torch.float64)
    for i, (d_psi, dx, dz) in enumerate(delta.tolist()):
        q = rot.yaw_quat(torch.tensor(d_psi, dtype=torch.float64))
        want = (
            rot.quat_rotate(q, before[i] - origin)
            + origin
            + torch.tensor([dx, 0.0, dz], dtype=torch.float64)
        )
        torch.testing.assert_close(after[i], want, atol=1e-9, rtol=0)


def test_coordinator_rigid_head_applies_its_correction() -> None:
    cfg = tiny()
    model = normalised_coordinator(cfg).eval()
    delta = torch.tensor([0.3, -0.2, 0.5])
    with torch.no_grad():
        model.rigid_head.bias.copy_(delta)  # weights stay 0: the same correction for every input
    x, _, cond, presence, valid = make_batch(cfg)
    pair_presence = presence[:, [1, 0]]
    own = pair_presence[:, 0] & valid
    refined = model(x[:, 1], x[:, 0], cond, pair_presence, valid)
    want = apply_placement_correction(x[:, 1], delta.expand(B, 3), model.mean, model.std)
    torch.testing.assert_close(refined[own], want[own], atol=1e-6, rtol=0)
    assert torch.equal(refined[~own], x[:, 1][~own])  # absent frames untouched
    assert not torch.allclose(refined[own][:, 263:], x[:, 1][own][:, 263:])


def test_coordinator_masking_and_absent_partner() -> None:
    cfg = tiny()
    model = unzero(normalised_coordinator(cfg))
    x, _, cond, presence, valid = make_batch(cfg)
    pair_presence = presence[:, [1, 0]]  # refine the partner (it has absent frames) against x
    own = pair_presence[:, 0] & valid
    other = pair_presence[:, 1] & valid
    out = model(x[:, 1], x[:, 0], cond, pair_presence, valid)
    assert (out[own] - x[:, 1][own]).abs().amax() > 1e-4  # it does refine
    motion2 = torch.where(own[..., None], x[:, 1], 30 * torch.randn_like(x[:, 1]))
    partner2 = torch.where(other[..., None], x[:, 0], 30 * torch.randn_like(x[:, 0]))
    out2 = model(motion2, partner2, cond, pair_presence, valid)
    torch.testing.assert_close(out2[own], out[own], atol=1e-6, rtol=0)
    assert torch.equal(out2[~own], motion2[~own])
    # a partner absent everywhere cannot influence the refinement
    alone = pair_presence.clone()
    alone[:, 1] = False
    a = model(x[:, 1], x[:, 0], cond, alone, valid)
    b = model(x[:, 1], torch.randn_like(x[:, 0]), cond, alone, valid)
    torch.testing.assert_close(a, b, atol=1e-6, rtol=0)
    assert not torch.allclose(a, out)


def test_coordinator_output_does_not_depend_on_the_amount_of_padding() -> None:
    cfg = tiny()
    model = unzero(normalised_coordinator(cfg))
    x, _, cond, presence, valid = make_batch(cfg)
    one = cond.select(slice(1, 2))
    padded = model(x[1:2, 1], x[1:2, 0], one, presence[1:2], valid[1:2])  # 17 valid of 22 frames
    short = model(x[1:2, 1, :17], x[1:2, 0, :17], one, presence[1:2, :, :17], valid[1:2, :17])
    torch.testing.assert_close(padded[:, :17], short, atol=1e-6, rtol=0)


def test_gradients_reach_every_coordinator_parameter() -> None:
    cfg = tiny()
    model = unzero(normalised_coordinator(cfg)).train()
    x, _, cond, presence, valid = make_batch(cfg)
    model(x[:, 1], x[:, 0], cond, presence[:, [1, 0]], valid).square().sum().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.any()]
    assert not missing, missing


@pytest.mark.parametrize("reference", [0, 1])
def test_refine_group_refines_everyone_against_the_reference(reference: int) -> None:
    cfg = tiny()
    model = unzero(normalised_coordinator(cfg))
    motions, _, cond, presence, valid = make_batch(cfg, people=3)
    out = model.refine_group(motions, cond, presence, valid, reference_index=reference)
    assert out.shape == motions.shape
    assert torch.equal(out[:, reference], motions[:, reference])
    for k in {0, 1, 2} - {reference}:
        pair = presence[:, [k, reference]]
        want = model(motions[:, k], motions[:, reference], cond, pair, valid)
        torch.testing.assert_close(out[:, k], want, atol=1e-5, rtol=0)
        assert not torch.allclose(out[:, k], motions[:, k])
    with pytest.raises(InterSynError, match="reference_index"):
        model.refine_group(motions, cond, presence, valid, reference_index=3)


def test_set_normalization_validates() -> None:
    model = build_coordinator(tiny())
    with pytest.raises(InterSynError, match="mean"):
        model.set_normalization(torch.zeros(10), torch.ones(D))
    with pytest.raises(InterSynError, match="std"):
        model.set_normalization(torch.zeros(D), torch.zeros(D))
    mean, std = torch.randn(D), torch.rand(D) + 0.1
    model.set_normalization(mean, std)
    state = model.state_dict()
    assert torch.equal(state["mean"], mean) and torch.equal(state["std"], std)  # saved with weights


# ---------------------------------------------------------------------------------------------
# Config
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_config_round_trip(name: str) -> None:
    cfg = model_preset(name)
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg


def test_config_errors() -> None:
    with pytest.raises(InterSynError, match=r"\['depth', 'wdth'\]"):
        ModelConfig.from_dict({"wdth": 3, "depth": 2, "layers": 2})
    with pytest.raises(InterSynError, match="layers"):
        ModelConfig.from_dict({"layers": "4"})
    with pytest.raises(InterSynError, match="heads"):
        ModelConfig(width=100, heads=8)
    with pytest.raises(InterSynError, match="dropout"):
        ModelConfig(dropout=1.5)
    with pytest.raises(InterSynError, match="tiny, cpu, paper"):
        model_preset("huge")
    assert ModelConfig.from_dict({"dropout": 0}).dropout == 0.0
    tiny_cfg = model_preset("tiny")
    assert tiny_cfg.layers == 2 and 32 <= tiny_cfg.width <= 64 and tiny_cfg.patch_frames == 4
    paper = model_preset("paper")
    assert (paper.layers, paper.width, paper.patch_frames, paper.text_dim) == (8, 512, 1, 768)
