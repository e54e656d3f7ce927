"""Schedules, DDIM/DDPM samplers and guidance, checked against closed-form ideal denoisers."""

from __future__ import annotations

import math

import pytest
import torch

from intersyn.diffusion import (
    NoiseSchedule,
    ddim_sample,
    ddpm_sample,
    drop_condition,
    guided_denoiser,
    sampling_timesteps,
)
from intersyn.errors import InterSynError

MU, SIGMA = 0.7, 0.5  # the 1-D Gaussian data distribution of the moment tests


@pytest.fixture(scope="module")
def cosine() -> NoiseSchedule:
    return NoiseSchedule("cosine", 1000)


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def point_denoiser(c: torch.Tensor):
    """Ideal x0 predictor when the data distribution is the single point `c`."""
    return lambda x, t: c.expand_as(x).clone()


def gaussian_denoiser(schedule: NoiseSchedule):
    """Ideal x0 predictor E[x0 | x_t] for iid data x0 ~ N(MU, SIGMA²) (Gaussian conditioning)."""

    def denoise(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        assert t.dtype == torch.long and t.shape == (x.shape[0],) and bool((t == t[0]).all())
        a = schedule.alpha_bar(int(t[0]))
        gain = math.sqrt(a) * SIGMA**2 / (a * SIGMA**2 + 1.0 - a)
        return MU + gain * (x - math.sqrt(a) * MU)

    return denoise


def standard_noise(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    """Noise whose columns have exactly mean 0 and variance 1, so DDIM moments are exact."""
    z = torch.randn(shape, generator=gen(seed), dtype=torch.float64)
    return ((z - z.mean(0)) / z.std(0, unbiased=False)).float()


# --------------------------------------------------------------------------------------------
# Schedule
# --------------------------------------------------------------------------------------------


def test_cosine_schedule_matches_reference_numbers(cosine: NoiseSchedule) -> None:
    # REFERENCE.md §4.1, computed for T = 1000.
    assert cosine.betas.shape == (1000,) and cosine.betas.dtype == torch.float64
    assert cosine.betas[0].item() == pytest.approx(4.13e-5, rel=1e-3)
    assert cosine.alphas_cumprod[0].item() == pytest.approx(0.99996, abs=5e-6)  # 5-decimal rounding
    assert cosine.betas[-1].item() == 0.999  # clipped
    assert cosine.betas.max().item() == 0.999
    assert cosine.alphas_cumprod[-1].item() == pytest.approx(2.4e-9, rel=0.02)
    assert cosine.alphas_cumprod[700].item() == pytest.approx(0.202, abs=5e-4)
    assert bool((cosine.alphas_cumprod[1:] < cosine.alphas_cumprod[:-1]).all())


def test_linear_schedule_endpoints_and_scaling() -> None:
    lin = NoiseSchedule("linear")
    assert lin.betas[0].item() == pytest.approx(1e-4)
    assert lin.betas[-1].item() == pytest.approx(0.02)
    assert (lin.betas[1] - lin.betas[0]).item() == pytest.approx((0.02 - 1e-4) / 999)
    short = NoiseSchedule("linear", 100)  # betas scaled by 1000/T = 10
    assert short.betas[0].item() == pytest.approx(1e-3)
    assert short.betas[-1].item() == pytest.approx(0.2)


def test_schedule_rejects_bad_names_and_sizes() -> None:
    with pytest.raises(InterSynError, match="'sigmoid'.*cosine, linear"):
        NoiseSchedule("sigmoid")
    with pytest.raises(InterSynError, match="num_steps"):
        NoiseSchedule("cosine", 0)


def test_posterior_matches_textbook_one_step_coefficients(cosine: NoiseSchedule) -> None:
    # For s = t − 1 the respaced posterior must reduce to DDPM's formulas written with β_t.
    t = torch.tensor([1, 10, 500, 999])
    x0 = torch.randn(4, 3, generator=gen(0), dtype=torch.float64)
    xt = torch.randn(4, 3, generator=gen(1), dtype=torch.float64)
    mean, var = cosine.posterior(x0, xt, t)
    beta, ab, ab_prev = cosine.betas[t], cosine.alphas_cumprod[t], cosine.alphas_cumprod_prev[t]
    coef0 = beta * ab_prev.sqrt() / (1 - ab)
    coeft = (1 - beta).sqrt() * (1 - ab_prev) / (1 - ab)
    torch.testing.assert_close(mean, coef0[:, None] * x0 + coeft[:, None] * xt)
    torch.testing.assert_close(var, cosine.posterior_variance[t])
    assert cosine.posterior_variance[0].item() == 0.0
    with pytest.raises(InterSynError, match="-1 <= s < t"):
        cosine.posterior(x0, xt, t, t)


def test_q_sample_closed_form_and_noise_inversion(cosine: NoiseSchedule) -> None:
    x0 = torch.full((3, 2), 2.0, dtype=torch.float64)
    noise = torch.tensor([[1.0, -1.0], [0.5, 0.0], [3.0, 2.0]], dtype=torch.float64)
    t = torch.tensor([0, 700, 999])
    xt = cosine.q_sample(x0, t, noise)
    a = cosine.alphas_cumprod[t][:, None]
    torch.testing.assert_close(xt, a.sqrt() * 2.0 + (1 - a).sqrt() * noise)
    torch.testing.assert_close(cosine.predict_noise(xt, t, x0), noise)
    # With x0 = 0 the noised samples have variance 1 − ᾱ_t.
    z = torch.randn(200_000, 1, generator=gen(2), dtype=torch.float64)
    var = cosine.q_sample(torch.zeros_like(z), 700, z).var().item()
    assert var == pytest.approx(1 - cosine.alphas_cumprod[700].item(), rel=0.01)


def test_ddim_step_with_true_x0_stays_on_the_noise_trajectory(cosine: NoiseSchedule) -> None:
    x0 = torch.randn(5, 4, generator=gen(0), dtype=torch.float64)
    eps = torch.randn(5, 4, generator=gen(1), dtype=torch.float64)
    xt = cosine.q_sample(x0, 800, eps)
    torch.testing.assert_close(cosine.ddim_step(xt, x0, 800, 300), cosine.q_sample(x0, 300, eps))
    torch.testing.assert_close(cosine.ddim_step(xt, x0, 800, -1), x0)
    with pytest.raises(InterSynError, match="noise"):
        cosine.ddim_step(xt, x0, 800, 300, eta=0.5)


def test_sampling_timesteps_grids() -> None:
    assert sampling_timesteps(1000, 50).tolist() == list(range(999, 0, -20))
    assert sampling_timesteps(1000, 50, "leading").tolist() == list(range(980, -1, -20))
    for spacing in ("trailing", "leading"):
        assert sampling_timesteps(1000, 1000, spacing).tolist() == list(range(999, -1, -1))
    assert sampling_timesteps(1000, 1).tolist() == [999]
    for steps in (3, 7, 333, 999):
        grid = sampling_timesteps(1000, steps)
        assert len(grid) == steps and grid[0] == 999 and bool((grid[1:] < grid[:-1]).all())
        assert grid.min() >= 0
    with pytest.raises(InterSynError, match=r"steps=1001 .*1000"):
        sampling_timesteps(1000, 1001)
    with pytest.raises(InterSynError, match=r"steps=0 .*1000"):
        sampling_timesteps(1000, 0)
    with pytest.raises(InterSynError, match="spacing"):
        sampling_timesteps(1000, 10, "middle")


# --------------------------------------------------------------------------------------------
# Samplers
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("steps", [1, 10, 50, 1000])
def test_point_data_is_recovered_exactly(cosine: NoiseSchedule, steps: int) -> None:
    c = torch.tensor([[0.25, -1.5, 3.0]])
    out = ddim_sample(point_denoiser(c), (4, 3), cosine, steps, generator=gen(0), progress=False)
    assert torch.equal(out, c.expand(4, 3))
    out = ddim_sample(
        point_denoiser(c), (4, 3), cosine, steps, eta=0.7, generator=gen(0), progress=False
    )
    assert torch.equal(out, c.expand(4, 3))
    out = ddpm_sample(point_denoiser(c), (4, 3), cosine, steps, generator=gen(0), progress=False)
    assert torch.equal(out, c.expand(4, 3))


def test_ddim_gaussian_moments(cosine: NoiseSchedule) -> None:
    # η = 0 maps x_T affinely per element, so with exactly standardised x_T the output mean and
    # std are exact functions of the step count: only discretisation error remains.
    shape = (4096, 4)
    x_T = standard_noise(shape, 0)
    errors = {}
    for steps in (1, 10, 50, 1000):
        out = ddim_sample(gaussian_denoiser(cosine), shape, cosine, steps, x_T=x_T, progress=False)
        assert abs(out.mean().item() - MU) < 1e-3
        errors[steps] = abs(out.std(unbiased=False).item() - SIGMA)
    assert errors[1] > 0.49  # one x0 step from pure noise collapses onto E[x0] = MU
    assert errors[1000] < 0.01 * SIGMA
    assert errors[50] < 0.05 * SIGMA
    assert errors[1000] < errors[50] < errors[10] < errors[1]


def test_ddpm_gaussian_moments(cosine: NoiseSchedule) -> None:
    out = ddpm_sample(
        gaussian_denoiser(cosine), (4096, 8), cosine, generator=gen(3), progress=False
    )
    # 32k samples: standard errors 0.0028 (mean) and 0.002 (std); tolerances are ~4-5 of them.
    assert out.mean().item() == pytest.approx(MU, abs=0.012)
    assert out.std().item() == pytest.approx(SIGMA, abs=0.01)


@pytest.mark.parametrize("steps", [10, 50])
def test_ddim_eta_one_equals_respaced_ddpm(cosine: NoiseSchedule, steps: int) -> None:
    # Two different algebraic routes (ε-form DDIM vs posterior-mean DDPM) must agree.
    kw = dict(generator=None, progress=False)
    a = ddim_sample(
        gaussian_denoiser(cosine), (64, 3), cosine, steps, eta=1.0, **kw | {"generator": gen(5)}
    )
    b = ddpm_sample(gaussian_denoiser(cosine), (64, 3), cosine, steps, **kw | {"generator": gen(5)})
    torch.testing.assert_close(a, b, atol=2e-5, rtol=0)
    assert a.std().item() > 0.2


def test_same_seed_same_output_different_seed_differs(cosine: NoiseSchedule) -> None:
    den = gaussian_denoiser(cosine)
    for sample, kw in ((ddim_sample, {"eta": 0.5}), (ddim_sample, {}), (ddpm_sample, {})):
        a = sample(den, (8, 5), cosine, 20, generator=gen(11), progress=False, **kw)
        b = sample(den, (8, 5), cosine, 20, generator=gen(11), progress=False, **kw)
        c = sample(den, (8, 5), cosine, 20, generator=gen(12), progress=False, **kw)
        assert torch.equal(a, b)
        assert (a - c).abs().min().item() > 0


def test_sampler_output_is_an_inference_tensor_on_the_requested_dtype(
    cosine: NoiseSchedule,
) -> None:
    out = ddim_sample(
        gaussian_denoiser(cosine), (2, 3), cosine, 5, progress=False, dtype=torch.float64
    )
    assert out.dtype == torch.float64 and torch.is_inference(out)


def test_mask_holds_entries_at_zero(cosine: NoiseSchedule) -> None:
    c = torch.full((1, 4), 2.0)
    mask = torch.tensor([True, False, True, False])
    seen = []

    def den(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        seen.append(x[:, ~mask].abs().max().item())
        return c.expand_as(x).clone()

    out = ddpm_sample(den, (3, 4), cosine, 10, generator=gen(0), progress=False, mask=mask)
    assert torch.equal(out[:, mask], torch.full((3, 2), 2.0))
    assert torch.equal(out[:, ~mask], torch.zeros(3, 2))
    assert max(seen) == 0.0  # the denoiser never sees noise in masked-out entries


def test_inpainting_keeps_known_entries_and_conditions_the_rest(cosine: NoiseSchedule) -> None:
    # Data (a, a) with a ~ N(0, 1): inpainting the first coordinate must pull the second onto it.
    def pair(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        a = cosine.alpha_bar(int(t[0]))
        m = math.sqrt(a) * (x[:, 0] + x[:, 1]) / (2 * a + 1 - a)
        return torch.stack([m, m], 1)

    n = 2000
    known = torch.zeros(n, 2)
    known[:, 0] = torch.randn(n, generator=gen(1))
    known_mask = torch.tensor([True, False]).expand(n, 2)
    free = ddim_sample(pair, (n, 2), cosine, 50, generator=gen(0), progress=False)
    inp = ddim_sample(
        pair, (n, 2), cosine, 50, generator=gen(0), progress=False, inpaint=(known, known_mask)
    )
    assert torch.equal(inp[:, 0], known[:, 0])
    assert (free[:, 1] - known[:, 0]).abs().mean().item() > 1.0  # unrelated without inpainting
    assert (inp[:, 1] - known[:, 0]).abs().mean().item() < 0.2
    fine = ddpm_sample(
        pair, (n, 2), cosine, generator=gen(0), progress=False, inpaint=(known, known_mask)
    )
    assert torch.equal(fine[:, 0], known[:, 0])
    assert (fine[:, 1] - known[:, 0]).abs().mean().item() < 0.03


def test_inpainting_feeds_known_entries_at_the_right_noise_level(cosine: NoiseSchedule) -> None:
    known = torch.full((4096, 2), 3.0)
    known_mask = torch.tensor([True, False]).expand(4096, 2)
    implied: dict[int, torch.Tensor] = {}

    def den(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        a = cosine.alpha_bar(int(t[0]))
        implied[int(t[0])] = (x[:, 0] - math.sqrt(a) * 3.0) / math.sqrt(1 - a)
        return torch.zeros_like(x)

    ddim_sample(
        den, (4096, 2), cosine, 10, generator=gen(0), progress=False, inpaint=(known, known_mask)
    )
    assert len(implied) == 10
    for eps in implied.values():  # the known entry is x_t = √ᾱ·3 + √(1 − ᾱ)·ε with ε ~ N(0, 1)
        assert abs(eps.mean().item()) < 0.06 and eps.std().item() == pytest.approx(1.0, abs=0.05)


def test_progress_bar_can_be_shown_or_hidden(cosine: NoiseSchedule, capsys) -> None:
    den = point_denoiser(torch.zeros(1, 2))
    ddim_sample(den, (1, 2), cosine, 3, progress=False)
    assert capsys.readouterr().err == ""
    ddim_sample(den, (1, 2), cosine, 3, progress=True)
    assert "DDIM 3" in capsys.readouterr().err


def test_sampler_input_errors(cosine: NoiseSchedule) -> None:
    den = point_denoiser(torch.zeros(1, 2))
    with pytest.raises(InterSynError, match=r"steps=1200 .*1000"):
        ddim_sample(den, (1, 2), cosine, 1200, progress=False)
    with pytest.raises(InterSynError, match=r"steps=0 "):
        ddpm_sample(den, (1, 2), cosine, 0, progress=False)
    with pytest.raises(InterSynError, match="eta=-0.1"):
        ddim_sample(den, (1, 2), cosine, 5, eta=-0.1, progress=False)
    with pytest.raises(InterSynError, match=r"x_T: expected shape \(1, 2\)"):
        ddim_sample(den, (1, 2), cosine, 5, x_T=torch.zeros(2, 2), progress=False)
    with pytest.raises(InterSynError, match="denoise_fn: returned shape"):
        ddim_sample(lambda x, t: x[:, :1], (1, 2), cosine, 5, progress=False)
    for mask, message in [
        (torch.ones(3, dtype=torch.bool), r"mask: shape \(3,\) does not broadcast to \(1, 2\)"),
        (torch.ones(4, 2, dtype=torch.bool), r"mask: shape \(4, 2\) would enlarge"),
        (torch.ones(1, 2), "mask: expected a bool tensor"),
    ]:
        with pytest.raises(InterSynError, match=message):
            ddim_sample(den, (1, 2), cosine, 5, mask=mask, progress=False)
    ddim_sample(den, (1, 2), cosine, 5, mask=torch.ones(2, dtype=torch.bool), progress=False)


# --------------------------------------------------------------------------------------------
# Guidance
# --------------------------------------------------------------------------------------------


def test_drop_condition_rates_and_determinism() -> None:
    assert not drop_condition(0.0, 1000, gen(0)).any()
    assert drop_condition(1.0, 1000, gen(0)).all()
    mask = drop_condition(0.1, 100_000, gen(0))
    assert mask.dtype == torch.bool and mask.shape == (100_000,)
    assert mask.float().mean().item() == pytest.approx(0.1, abs=0.003)  # 3 standard errors
    assert torch.equal(drop_condition(0.1, 64, gen(4)), drop_condition(0.1, 64, gen(4)))
    with pytest.raises(InterSynError, match="cond_mask_prob=1.5"):
        drop_condition(1.5, 4)


class CountingModel:
    """Closed-form x0 model: cond → 0.5·x + label_i, uncond → 0.5·x − 1 (label per sample)."""

    def __init__(self, labels: torch.Tensor) -> None:
        self.labels = labels
        self.calls: list[tuple[int, list[bool]]] = []

    def __call__(self, x: torch.Tensor, t: torch.Tensor, drop: torch.Tensor) -> torch.Tensor:
        self.calls.append((x.shape[0], drop.tolist()))
        labels = self.labels.repeat(x.shape[0] // self.labels.shape[0])  # rows i and B+i pair up
        cond = 0.5 * x + labels[:, None]
        return torch.where(drop[:, None], 0.5 * x - 1.0, cond)


def test_guided_denoiser_combines_cond_and_uncond() -> None:
    labels = torch.tensor([1.0, 2.0, 3.0])
    x = torch.randn(3, 4, generator=gen(0))
    t = torch.full((3,), 10)
    cond = 0.5 * x + labels[:, None]
    uncond = 0.5 * x - 1.0
    for scale, expected in ((1.0, cond), (0.0, uncond), (2.5, uncond + 2.5 * (cond - uncond))):
        model = CountingModel(labels)
        torch.testing.assert_close(guided_denoiser(model, scale)(x, t), expected)
        assert len(model.calls) == 1
    model = CountingModel(labels)
    guided_denoiser(model, 2.5)(x, t)
    assert model.calls == [(6, [False] * 3 + [True] * 3)]  # one batched pass, explicit null flag
    with pytest.raises(InterSynError, match="scale"):
        guided_denoiser(model, float("nan"))


def test_guidance_interval_guides_only_up_to_its_highest_step() -> None:
    labels = torch.tensor([1.0, 2.0, 3.0])
    x = torch.randn(3, 4, generator=gen(1))
    cond = 0.5 * x + labels[:, None]
    guided = cond + 1.5 * (cond - (0.5 * x - 1.0))
    model = CountingModel(labels)
    denoise = guided_denoiser(model, 2.5, max_step=500)
    # Per sample: steps above 500 get the conditional prediction alone, the others guidance.
    t = torch.tensor([999, 500, 20])
    expected = torch.stack([cond[0], guided[1], guided[2]])
    torch.testing.assert_close(denoise(x, t), expected)
    torch.testing.assert_close(denoise(x, torch.full((3,), 501)), cond)
    torch.testing.assert_close(guided_denoiser(model, 2.5, None)(x, t), guided)
    # Above the limit the text prediction itself, exactly; scale 0 too keeps to the limit.
    assert torch.equal(denoise(x, torch.full((3,), 999))[0], cond[0])
    torch.testing.assert_close(guided_denoiser(model, 0.0, 500)(x, t)[0], cond[0])
    torch.testing.assert_close(guided_denoiser(model, 0.0, 500)(x, t)[2], 0.5 * x[2] - 1.0)
    for bad in (-1, 2.5, True, "900"):
        with pytest.raises(InterSynError, match="max_step"):
            guided_denoiser(model, 2.5, bad)


def test_projected_guidance_drops_the_update_along_the_conditional_prediction() -> None:
    labels = torch.tensor([1.0, 2.0, 3.0])
    x = torch.randn(3, 8, generator=gen(2))
    t = torch.full((3,), 10)
    cond = 0.5 * x + labels[:, None]
    uncond = 0.5 * x - 1.0
    plain = guided_denoiser(CountingModel(labels), 2.5)(x, t)
    torch.testing.assert_close(guided_denoiser(CountingModel(labels), 2.5, None, 1.0)(x, t), plain)
    projected = guided_denoiser(CountingModel(labels), 2.5, None, 0.0)(x, t)
    # Per sample, what projected guidance adds to cond is orthogonal to cond ...
    added = (projected - cond).flatten(1)
    torch.testing.assert_close((added * cond.flatten(1)).sum(1), torch.zeros(3), atol=1e-4, rtol=0)
    # ... and is plain guidance's addition less its component along cond.
    update = (cond - uncond).flatten(1)
    along = (update * cond.flatten(1)).sum(1, keepdim=True) / cond.flatten(1).square().sum(
        1, keepdim=True
    )
    torch.testing.assert_close(added, 1.5 * (update - along * cond.flatten(1)))
    half = guided_denoiser(CountingModel(labels), 2.5, None, 0.5)(x, t)
    torch.testing.assert_close(half, (plain + projected) / 2)
    # Scales <= 1 interpolate towards the unconditional prediction: never projected.
    for scale in (0.0, 0.5, 1.0):
        torch.testing.assert_close(
            guided_denoiser(CountingModel(labels), scale, 500, 0.0)(x, t),
            guided_denoiser(CountingModel(labels), scale, 500, 1.0)(x, t),
        )
    # With a guidance interval: above it the text prediction alone, below it projected.
    interval = guided_denoiser(CountingModel(labels), 2.5, 500, 0.0)(x, torch.tensor([999, 20, 20]))
    torch.testing.assert_close(interval[0], cond[0])
    torch.testing.assert_close(interval[1:], projected[1:])
    # In float16 the sums are taken in float32: a large prediction's squared norm would overflow.
    big = 300.0 * x
    half_model = lambda x_, t_, drop: torch.where(drop[:, None], 0.5 * x_, x_ + 1.0)  # noqa: E731
    wide = guided_denoiser(half_model, 2.5, None, 0.0)(big.double(), t)
    narrow = guided_denoiser(half_model, 2.5, None, 0.0)(big.half(), t)
    assert narrow.dtype == torch.float16
    torch.testing.assert_close(narrow.double(), wide, rtol=2e-3, atol=0.5)
    # A zero conditional prediction (nothing to project on) stays finite.
    zero = guided_denoiser(lambda x_, t_, drop: torch.zeros_like(x_), 2.5, None, 0.0)(x, t)
    assert torch.equal(zero, torch.zeros_like(x))
    for bad in (-0.1, 1.5, float("nan"), True, "0"):
        with pytest.raises(InterSynError, match="parallel"):
            guided_denoiser(CountingModel(labels), 2.5, None, bad)


def test_guidance_makes_one_forward_call_per_sampling_step(cosine: NoiseSchedule) -> None:
    model = CountingModel(torch.tensor([1.0, -1.0]))
    out = ddim_sample(
        guided_denoiser(model, 3.5), (2, 4), cosine, 10, generator=gen(0), progress=False
    )
    assert len(model.calls) == 10 and all(n == 4 for n, _ in model.calls)
    # The final step returns the guided x0: uncond + 3.5 (cond − uncond) = 0.5 x + 3.5 label + 2.5.
    assert torch.isfinite(out).all()
