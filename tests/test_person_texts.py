"""Per-person texts read as each person's own (`ModelConfig.person_texts`): the denoiser's
layer, the Condition fields, U(·)'s draws, a fine-tune that switches them on and generation."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest
import torch

from intersyn.cli.main import main
from intersyn.data.interleave import InterleaveConfig
from intersyn.data.loaders import InterleavedDataset, SourceBank, collate_samples
from intersyn.errors import InterSynError
from intersyn.models import build_denoiser
from intersyn.models.layers import Condition
from intersyn.training.config import apply_overrides, train_preset
from intersyn.training.loop import load_trained_model, train

from .test_models import B, frame_mask, make_batch, plain_and_switched_on, tiny


def with_texts(cond: Condition, given: list[list[bool]], seed: int = 5) -> Condition:
    g = torch.Generator().manual_seed(seed)
    features = torch.randn(B, 2, cond.text_pooled.shape[1], generator=g)
    return dataclasses.replace(
        cond, person_text=features, person_text_mask=torch.tensor(given, dtype=torch.bool)
    )


def test_person_text_layer_starts_at_zero_and_reads_only_given_texts() -> None:
    cfg = tiny()
    plain, model = plain_and_switched_on(cfg, "person_text_in", person_texts=True)
    x, t, cond, presence, valid = make_batch(cfg)
    texts = with_texts(cond, [[True, True], [True, False], [False, False]])
    base = plain(x, t, cond, presence, valid)
    # Zero-initialised: the same output as the model it starts from.
    assert torch.equal(model(x, t, texts, presence, valid), base)
    with torch.no_grad():
        model.person_text_in.weight.normal_(0.0, 0.05)
        model.person_text_in.bias.normal_(0.0, 0.05)
    mask = frame_mask(presence, valid)
    changed = (model(x, t, texts, presence, valid) - base).abs().mul(mask[..., None])
    per_sample = changed.flatten(1).amax(1)
    # Sample 2 has no text: unchanged, whatever its features hold (NaN does not leak).
    assert (per_sample[:2] > 1e-4).all() and per_sample[2] == 0, per_sample
    nan = texts.person_text.clone()
    nan[2] = float("nan")
    assert torch.equal(
        model(x, t, dataclasses.replace(texts, person_text=nan), presence, valid)[2], base[2]
    )
    assert torch.equal(model(x, t, cond, presence, valid), base)  # None: no one has one
    # Classifier-free guidance's null condition drops them with the text.
    drop = torch.ones(B, dtype=torch.bool)
    assert torch.equal(
        model(x, t, dataclasses.replace(texts, cond_drop=drop), presence, valid),
        model(x, t, dataclasses.replace(cond, cond_drop=drop), presence, valid),
    )
    # Tied to a person: the same text on the partner instead gives another motion.
    swapped = dataclasses.replace(texts, person_text=texts.person_text.flip(1))
    assert not torch.allclose(model(x, t, swapped, presence, valid)[0], base[0])
    assert not torch.allclose(
        model(x, t, swapped, presence, valid)[0], model(x, t, texts, presence, valid)[0]
    )


def test_conditions_with_and_without_person_texts_stack() -> None:
    _, _, cond, _, _ = make_batch(tiny())
    texts = with_texts(cond, [[True, False], [False, True], [True, True]])
    both = Condition.cat([texts, cond])
    assert both.person_text.shape == (2 * B, 2, cond.text_pooled.shape[1])
    assert both.person_text_mask[:B].equal(texts.person_text_mask)
    assert not both.person_text_mask[B:].any() and not both.person_text[B:].any()
    assert Condition.cat([cond, cond]).person_text is None
    assert both.select(torch.tensor([0])).person_text_mask.tolist() == [[True, False]]
    both.check(2 * B, cond.text_pooled.shape[1])
    with pytest.raises(InterSynError, match="give both or neither"):
        dataclasses.replace(cond, person_text=texts.person_text).check(B, cond.text_pooled.shape[1])


def test_interleaved_samples_carry_each_person_s_own_caption(tiny_data_root) -> None:
    from intersyn.data.humanml3d import load_humanml3d
    from intersyn.data.interhuman import load_interhuman

    bank = SourceBank.from_items(
        load_humanml3d(tiny_data_root, "train"), load_interhuman(tiny_data_root, "train")
    )
    config = InterleaveConfig(
        frames=120, organisation="s-i", timing="ts0-ti60", person_text_share=1.0,
        person_text_leave_out=0.0,
    )  # fmt: skip
    data = InterleavedDataset(bank, config, seed=4)
    for index in range(6):
        drawn = data[index]
        segment = next(
            s for s in bank.sample(np.random.default_rng([4, index]), config).segments
            if s.kind == "interaction"
        )  # fmt: skip
        # Person x's own caption first, whichever of the clip's two people plays x.
        assert drawn.person_texts == (segment.person_caption, segment.partner_caption)
        assert drawn.person_texts[0].startswith("one person" if not segment.swapped else "the")
    # The share and the leave-out are their own draws: the motion is the same without them.
    without = InterleavedDataset(bank, dataclasses.replace(config, person_text_share=0.0), seed=4)
    assert without[0].person_texts == ("", "")
    np.testing.assert_array_equal(without[0].features, data[0].features)
    alone = dataclasses.replace(config, person_text_leave_out=0.5)
    drawn = [InterleavedDataset(bank, alone, seed=4)[k].person_texts for k in range(16)]
    assert any(bool(a) != bool(b) for a, b in drawn)  # some samples keep one text only
    batch = collate_samples([data[0], without[0]])
    assert batch.person_texts == (data[0].person_texts, ("", ""))
    with pytest.raises(InterSynError, match="person_text_share=1.5"):
        dataclasses.replace(config, person_text_share=1.5)


def test_a_fine_tune_may_switch_on_person_texts_and_generation_reads_them(
    tmp_path, tiny_checkpoint, tiny_data_root
):
    """`--set model.person_texts=true` on an --init model without them: the new layer starts
    at zero and trains; generation then gives each person their own text, and the reverse
    (dropping a trained layer) is refused, naming the fix."""
    out = tmp_path / "person_texts"
    code = main(
        [
            "train", "--data-root", str(tiny_data_root), "--out", str(out), "--stage", "ins",
            "--init", str(tiny_checkpoint), "--set", "model.person_texts=true",
            "--set", "data.interleave.person_text_share=1.0",
            "--set", "ins.added_layer_lr_scale=10", "--max-steps", "2",
            "--no-progress",
        ]
    )  # fmt: skip
    assert code == 0
    final = out / "checkpoints" / "final.pt"
    tuned = load_trained_model(final)
    assert tuned.config.model.person_texts and tuned.denoiser.person_text_in.weight.any()
    without = apply_overrides(train_preset("tiny"), ["ins.steps=1"])
    with pytest.raises(InterSynError, match="pass --set model.person_texts=true"):
        train(without, tiny_data_root, tmp_path / "x", stage="ins", init=final)

    from intersyn import InterSynPipeline
    from intersyn.pipeline import PersonTextsUnreadWarning

    pipe = InterSynPipeline.from_pretrained(final)
    assert pipe.tags_person_texts and pipe.reads_person_texts
    lead, trail = "a man leads the way", "a woman follows him"
    layout = pipe.plan(None, "two people walk", None, None, 40, lead, trail)
    assert layout.person_texts == (lead, trail) and layout.roles == ()
    assert layout.caption == "Two people walk."  # not joined
    assert pipe.plan(None, "two people walk", None, None, 40, None, trail).person_texts == (
        "",
        trail,
    )
    ask = {"interaction": "two people walk one behind the other", "frames": 40, "seed": 3}
    with warnings.catch_warnings():
        warnings.simplefilter("error", PersonTextsUnreadWarning)
        read = pipe(**ask, person_text=lead, partner_text=trail)
    plain = pipe(**ask)
    swapped = pipe(**ask, person_text=trail, partner_text=lead)
    assert read.meta["person_texts_conditioned"] and not plain.meta["person_texts_conditioned"]
    assert read.meta["caption"] == plain.meta["caption"]
    assert not np.array_equal(read.joints, plain.joints)
    assert not np.array_equal(read.joints, swapped.joints)
    # A long motion's windows and more than two people read them too (every partner gets
    # the partner's text).
    for more in ({"frames": 120}, {"people": 3}):
        told = pipe(**{**ask, **more}, person_text=lead, partner_text=trail).joints
        assert not np.array_equal(told, pipe(**{**ask, **more}).joints), more
    # Best of K ranks candidates against the texts with them joined, as a joined model's.
    scored = dataclasses.replace(layout, person_texts=("", trail)).scored_segments
    assert scored[0][3] == "Two people walk. A woman follows him"
    # A window without the interaction has no per-person texts.
    solo_first = pipe.plan("a person walks", "two people walk", None, 30, 60, lead, trail)
    assert solo_first.window(0, 20).person_texts == ()
    assert solo_first.window(20, 30).person_texts == (lead, trail)
    with pytest.raises(InterSynError, match="person_text / partner_text: empty"):
        pipe.plan(None, "two people walk", None, None, 40, " ", trail)


def test_layers_a_fine_tune_switches_on_may_learn_faster() -> None:
    from intersyn.training.config import OptimConfig
    from intersyn.training.loop import parameter_groups

    model = build_denoiser(dataclasses.replace(tiny(), person_texts=True, end_positions=True))
    rest, added = parameter_groups(model, 10.0)
    assert added["lr_scale"] == 10.0 and rest["lr_scale"] == 1.0
    names = {id(p): n for n, p in model.named_parameters()}
    assert sorted(names[id(p)] for p in added["params"]) == [
        "end_in.bias", "end_in.weight", "person_text_in.bias", "person_text_in.weight",
    ]  # fmt: skip
    assert len(rest["params"]) + 4 == len(names)
    (whole,) = parameter_groups(model, 1.0)  # one group: older optimiser states still load
    assert len(whole["params"]) == len(names)
    for bad in (0, float("inf"), True):
        with pytest.raises(InterSynError, match="added_layer_lr_scale="):
            OptimConfig(added_layer_lr_scale=bad)


def test_a_resumed_run_keeps_its_own_learning_rate_scales() -> None:
    from intersyn.training.loop import load_optimizer_state, parameter_groups

    model = build_denoiser(dataclasses.replace(tiny(), person_texts=True))
    saved = torch.optim.AdamW(parameter_groups(model, 5.0), lr=1e-3).state_dict()
    resumed = torch.optim.AdamW(parameter_groups(model, 10.0), lr=1e-3)
    load_optimizer_state(resumed, saved, "ins")
    assert [g["lr_scale"] for g in resumed.param_groups] == [1.0, 10.0]
    one_group = torch.optim.AdamW(parameter_groups(model, 1.0), lr=1e-3)
    with pytest.raises(InterSynError, match="same ins.added_layer_lr_scale"):
        load_optimizer_state(one_group, saved, "ins")
