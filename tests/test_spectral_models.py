"""Spectrogram models: the STFT front end, SpecUNet, BandSplitRNN (+ SE) and the NMF baseline."""

import ast
import inspect
import math

import pytest
import torch
from torch import nn

from waveunet_lit.models import band_split_rnn, nmf, spec_unet, stft
from waveunet_lit.models.band_split_rnn import BandSplitRNN, SqueezeExcitation, band_widths, paper_band_edges
from waveunet_lit.models.nmf import NMF, beta_divergence, update_activations, update_dictionary
from waveunet_lit.models.spec_unet import SpecUNet
from waveunet_lit.models.stft import STFT, apply_complex_mask, crop_to, pad_to_multiple, with_phase_of
from waveunet_lit.nmf_system import NMFSeparator

# NMFSeparator's steps log through self.log, which only warns without a Trainer.
pytestmark = pytest.mark.filterwarnings("ignore:You are trying to `self.log\\(\\)`")

LENGTHS = (1, 2, 15, 16, 17, 63, 64, 65, 200, 513)


def tiny_unet(channels: int = 2, **kw) -> SpecUNet:
    args = dict(sources=("vocals", "drums", "bass"), channels=channels, sample_rate=8000, n_fft=64, hop_length=16,
                filters=(2, 4, 8), bottleneck=8)
    return SpecUNet(**{**args, **kw})


def tiny_bsrnn(channels: int = 2, **kw) -> BandSplitRNN:
    args = dict(sources=("vocals", "other"), channels=channels, sample_rate=8000, n_fft=64, hop_length=16,
                band_edges=(0, 500, 1000, 2000, 4000), features=8, hidden=6, layers=2, mlp_hidden=8)
    return BandSplitRNN(**{**args, **kw})


def tiny_nmf(channels: int = 2, fitted: bool = True, **kw) -> NMF:
    args = dict(sources=("a", "b"), channels=channels, sample_rate=8000, n_fft=64, hop_length=16, components=3,
                iterations=20, fit_iterations=5)
    model = NMF(**{**args, **kw})
    if fitted:
        model.fit_batch(torch.rand(2, len(model.sources), channels, 300, generator=torch.Generator().manual_seed(1)))
    return model


MODELS = {"spec_unet": tiny_unet, "spec_unet_tfc_tdf": lambda c: tiny_unet(c, block="tfc_tdf"),
          "spec_unet_mask": lambda c: tiny_unet(c, output="mask"), "bsrnn": tiny_bsrnn,
          "bsrnn_no_se": lambda c: tiny_bsrnn(c, se=False), "nmf": tiny_nmf}


# ----------------------------------------------------------------------------- STFT front end
@pytest.mark.parametrize("n_fft, hop, window", [(1024, 512, "hann"), (2048, 512, "hann"), (64, 16, "hann"),
                                                (256, 100, "hamming"), (32, 32, "rectangular"), (64, 16, "blackman")])
def test_stft_round_trip_below_1e6_for_every_length(n_fft, hop, window):
    pair = STFT(n_fft, hop, window)
    gen = torch.Generator().manual_seed(0)
    for T in (1, 2, hop - 1, hop, hop + 1, n_fft - 1, n_fft + 1, 3 * n_fft + 7, 16000):
        x = torch.rand(2, 2, T, generator=gen) * 2 - 1  # audio range
        X = pair(x)
        assert X.shape == (2, 2, n_fft // 2 + 1, pair.num_frames(T))
        assert (pair.inverse(X, T) - x).abs().max() < 1e-6, T
        x64 = x.double()
        assert (pair.inverse(pair(x64), T) - x64).abs().max() < 1e-12, T


def test_stft_inverse_checks_its_input_shape():
    pair = STFT(64, 16)
    X = pair(torch.zeros(1, 100))
    with pytest.raises(ValueError, match="F=33"):
        pair.inverse(X[:, :-1], 100)
    with pytest.raises(ValueError, match="N="):
        pair.inverse(X, 200)


@pytest.mark.parametrize("n_fft, hop, window, match", [
    (1024, 2048, "hann", "hop_length"),  # hop > n_fft skips samples
    (1024, 0, "hann", "hop_length"),
    (1024, 1024, "hann", "NOLA"),  # Hann windows touch zero between frames
    (1024, 1000, "hann", "NOLA"),  # nearly so: ill-conditioned
    (1, 1, "hann", "n_fft"),
    (64, 16, "kaiser", "window"),
])
def test_stft_refuses_what_it_cannot_invert(n_fft, hop, window, match):
    with pytest.raises(ValueError, match=match):
        STFT(n_fft, hop, window)


@pytest.mark.parametrize("make", [
    lambda: SpecUNet(hop_length=2048), lambda: SpecUNet(n_fft=1024, hop_length=1024),
    lambda: BandSplitRNN(hop_length=4096), lambda: NMF(n_fft=512, hop_length=512),
])
def test_models_refuse_an_uninvertible_stft_at_construction(make):
    with pytest.raises(ValueError, match="STFT"):
        make()


def test_pad_and_crop_undo_each_other_on_real_and_complex():
    x = torch.randn(2, 3, 33, 9, dtype=torch.complex64)
    padded = pad_to_multiple(x, 8, 4)
    assert padded.shape == (2, 3, 40, 12)
    assert torch.equal(crop_to(padded, 33, 9), x)
    assert padded[..., 33:, :].abs().sum() == 0 and padded[..., 9:].abs().sum() == 0
    r = torch.randn(1, 16, 8)
    assert pad_to_multiple(r, 8, 8).shape == r.shape  # already multiples: nothing added
    with pytest.raises(ValueError):
        crop_to(r, 17, 8)


def test_mixture_phase_and_complex_masks():
    mix = torch.randn(2, 1, 5, 4, dtype=torch.complex64)
    mag = torch.rand(2, 3, 1, 5, 4)  # three sources
    out = with_phase_of(mag, mix[:, None])
    assert out.shape == (2, 3, 1, 5, 4)
    assert torch.allclose(out.abs(), mag, atol=1e-6)
    assert torch.allclose(out / out.abs(), (mix / mix.abs())[:, None].expand_as(out), atol=1e-5)  # same phase
    mask = torch.randn(3, 1, 5, 4, 2)
    expected = torch.view_as_complex(mask) * mix[:, None]
    assert torch.allclose(apply_complex_mask(mask, mix[:, None]), expected)
    with pytest.raises(ValueError, match="last dimension of 2"):
        apply_complex_mask(torch.randn(3, 1, 5, 4), mix)


# ----------------------------------------------------------------------------- the model contract
@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("name", MODELS)
def test_shapes_and_length_arithmetic_agree_with_forward(name, channels):
    model = MODELS[name](channels).eval()
    with torch.no_grad():
        for n in LENGTHS:
            out = model(torch.randn(2, channels, n))
            assert out.shape == (2, len(model.sources), channels, model.output_length(n))
            assert model.output_length(n) == n and model.valid_length(n) == n
    with pytest.raises(ValueError):
        model.output_length(0)
    with pytest.raises(ValueError, match="C="):
        model(torch.randn(2, 3 - channels, 100))  # the other channel count


@pytest.mark.parametrize("name", ["spec_unet", "spec_unet_tfc_tdf", "bsrnn"])
def test_every_parameter_learns(name):
    torch.manual_seed(0)
    # SE layers need a few ReLU units: with 2 units, an unlucky draw switches both off.
    model = (tiny_bsrnn(features=32) if name == "bsrnn" else MODELS[name](2)).train()
    model(torch.randn(2, 2, 200)).pow(2).mean().backward()
    dead = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not dead


@pytest.mark.parametrize("module", [stft, spec_unet, band_split_rnn, nmf])
def test_models_do_not_import_lightning(module):
    tree = ast.parse(inspect.getsource(module))
    names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    names += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert not [n for n in names if "lightning" in n]


# ----------------------------------------------------------------------------- SpecUNet
def test_spec_unet_has_one_head_per_source():
    model = tiny_unet(output="mask").eval()
    mix = torch.randn(1, 2, 300)
    before = model(mix)
    with torch.no_grad():
        model.heads[1].bias += 3.0
    after = model(mix)
    changed = (after - before).abs().amax(dim=(0, 2, 3)) > 1e-6
    assert changed.tolist() == [False, True, False]


def test_spec_unet_mask_of_one_gives_back_the_mixture():
    model = tiny_unet(output="mask").eval()
    with torch.no_grad():
        for head in model.heads:
            head.weight.zero_()
            head.bias.fill_(40.0)  # sigmoid = 1: every source gets the whole mixture
    mix = torch.rand(2, 2, 333) * 2 - 1
    out = model(mix)
    assert torch.allclose(out, mix[:, None].expand_as(out), atol=1e-5)


def test_spec_unet_tfc_tdf_switch_adds_frequency_layers():
    conv, tdf = tiny_unet(), tiny_unet(block="tfc_tdf")
    n_params = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert n_params(tdf) > n_params(conv)
    linears = [m for m in tdf.modules() if isinstance(m, torch.nn.Linear)]
    assert not [m for m in conv.modules() if isinstance(m, torch.nn.Linear)]
    # 33 bins padded to 40 at level 0, then 20, 10, and 5 in the bottleneck: 7 blocks, 2 FC each.
    assert sorted({m.in_features for m in linears if m.out_features < m.in_features}) == [5, 10, 20, 40]
    assert len(linears) == 2 * 7


@pytest.mark.parametrize("kw, match", [({"output": "phase"}, "output"), ({"block": "lstm"}, "block"),
                                       ({"bottleneck_dropout": 1.0}, "bottleneck_dropout"),
                                       ({"filters": ()}, "filters"), ({"channels": 0}, "channels"),
                                       ({"sources": ()}, "sources")])
def test_spec_unet_bad_arguments(kw, match):
    with pytest.raises(ValueError, match=match):
        tiny_unet(**kw)


# ----------------------------------------------------------------------------- BandSplitRNN
@pytest.mark.parametrize("features, reduction, layers", [(8, 4, 2), (64, 4, 6), (10, 3, 1)])
def test_se_changes_the_parameter_count_by_exactly_the_se_layers(features, reduction, layers):
    on = tiny_bsrnn(features=features, se_reduction=reduction, layers=layers, se=True)
    off = tiny_bsrnn(features=features, se_reduction=reduction, layers=layers, se=False)
    h = features // reduction
    per_layer = features * h + h + h * features + features  # Linear(D, D/r) + Linear(D/r, D)
    assert on.parameter_count() - off.parameter_count() == 2 * layers * per_layer
    assert on.parameter_count() == sum(p.numel() for p in on.parameters())


def test_se_actually_rescales_features():
    torch.manual_seed(0)
    se = SqueezeExcitation(32, 4)
    x = torch.randn(2, 3, 5, 32)
    y = se(x)
    weights = y / x  # one weight per (batch, feature), in (0, 1)
    assert torch.allclose(weights, weights[:, :1, :1].expand_as(weights), atol=1e-5)
    assert (weights > 0).all() and (weights < 1).all()
    x2 = x.clone()
    x2[1] *= 5  # a different item gets different weights
    assert not torch.allclose(se(x2)[1] / x2[1], weights[1])


def per_band_loops(model: BandSplitRNN, x: torch.Tensor):
    """The band split and mask estimators run band by band, as the paper writes them."""
    z = model.split_bands_per_band(x)
    return z, model.estimate_masks_per_band(z)  # (B, K, N, D), (B, S, N, C, 2, F)


@pytest.mark.parametrize("channels, edges", [(2, (0, 500, 1000, 1500, 2500, 4000)), (1, (0, 1000, 2000, 4000))])
def test_bsrnn_batched_bands_equal_the_per_band_loops_values_and_gradients(channels, edges):
    torch.manual_seed(3)
    model = tiny_bsrnn(channels=channels, band_edges=edges)
    with torch.no_grad():  # random affine LayerNorms too, so that every band's own parameters matter
        for p in model.parameters():
            p.add_(0.3 * torch.randn_like(p))
    assert len(set(model.band_widths)) < len(model.band_widths)  # some bands share a width
    x = torch.randn(2, 7, channels, 2, model.stft.bins)
    z, masks = per_band_loops(model, x)
    torch.testing.assert_close(model.split_bands(x), z, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(model.estimate_masks(z), masks, rtol=1e-5, atol=1e-5)

    def gradients(outputs) -> dict:
        model.zero_grad()
        sum((out * torch.linspace(-1, 1, out.numel()).reshape(out.shape)).sum() for out in outputs).backward()
        return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}

    z_loops, masks_loops = per_band_loops(model, x)
    loops = gradients([z_loops, masks_loops])
    z_batched = model.split_bands(x)
    batched = gradients([z_batched, model.estimate_masks(z_batched)])
    assert loops.keys() == batched.keys() and any(n.startswith("mask_out") for n in loops)
    for n in loops:
        torch.testing.assert_close(batched[n], loops[n], rtol=1e-4, atol=1e-5, msg=n)


def per_band_state(model: BandSplitRNN) -> dict:
    """The model's state as it was saved when every band had modules of its own:
    ``band_in.{k}`` = (LayerNorm, Linear), ``masks.{s}.{k}`` = (LayerNorm, Linear, Tanh, Linear, GLU)."""
    state = {k: v for k, v in model.state_dict().items() if not k.startswith(("band_in.", "mask_hidden.", "mask_out."))}
    for k, w in enumerate(model.band_widths):
        g, i = model._band_position(k)
        for layer in (0, 1):
            for name in ("weight", "bias"):
                state[f"band_in.{k}.{layer}.{name}"] = getattr(model.band_in[g][layer], name)[i].clone()
        for s in range(len(model.sources)):
            for old, new in ((0, model.mask_hidden[0]), (1, model.mask_hidden[1])):
                for name in ("weight", "bias"):
                    state[f"masks.{s}.{k}.{old}.{name}"] = getattr(new, name)[s, k].clone()
            for name in ("weight", "bias"):
                state[f"masks.{s}.{k}.3.{name}"] = getattr(model.mask_out[g][0], name)[s, i].clone()
    return state


def test_bsrnn_loads_a_checkpoint_saved_with_one_module_per_band():
    torch.manual_seed(0)
    saved = tiny_bsrnn(channels=2)
    state = per_band_state(saved)
    w = saved.band_widths[2]
    assert state["band_in.2.1.weight"].shape == nn.Linear(2 * 2 * w, 8).weight.shape  # the old per-band layers' shapes
    assert state["masks.1.2.3.weight"].shape == nn.Linear(8, 2 * 2 * 2 * w).weight.shape
    torch.manual_seed(1)
    fresh = tiny_bsrnn(channels=2)
    mix = torch.randn(1, 2, 300)
    assert not torch.allclose(fresh(mix), saved(mix))
    fresh.load_state_dict(state)  # strict: every old key used, every new one filled
    torch.testing.assert_close(fresh(mix), saved(mix))
    holder = nn.Module()  # nested, as inside the Lightning module ("model." prefix)
    holder.model = tiny_bsrnn(channels=2)
    holder.load_state_dict({f"model.{k}": v for k, v in state.items()})
    torch.testing.assert_close(holder.model(mix), saved(mix))


def test_bsrnn_complex_masks_land_on_the_right_bins_and_channels():
    model = tiny_bsrnn(channels=2).eval()
    C, Fb = 2, model.stft.bins
    wanted = 0.5 + 0.5 * torch.arange(C)[:, None] + torch.arange(Fb)[None, :] / Fb  # (C, F), all distinct
    lo = 0
    with torch.no_grad():
        for k, w in enumerate(model.band_widths):
            g, i = model._band_position(k)
            last = model.mask_out[g][0]  # Linear(mlp_hidden, 2 * 2 C W_k) of every source, then the GLU
            for s in range(2):
                last.weight[s, i] = 0
                value = torch.zeros(C, 2, w)
                value[:, 0] = wanted[:, lo : lo + w] * (s + 1)  # real part; imaginary part 0
                last.bias[s, i] = torch.cat([value.flatten(), torch.full((2 * C * w,), 40.0)])
            lo += w
    mix = torch.rand(1, C, 500) * 2 - 1
    spec = model.stft(mix)  # (1, C, F, N)
    for s in range(2):
        expected = model.stft.inverse(wanted[None, :, :, None] * (s + 1) * spec, 500)
        assert torch.allclose(model(mix)[:, s], expected, atol=1e-5)


def test_consistent_masks_add_up_to_one_and_share_the_rest_by_power():
    g = torch.Generator().manual_seed(0)
    mask = torch.randn(2, 3, 2, 5, 4, 2, generator=g)  # (B, S, C, F, N, re/im)
    out = band_split_rnn.consistent_masks(mask)
    total = out.sum(1)
    assert torch.allclose(total[..., 0], torch.ones(()), atol=1e-6) and torch.allclose(total[..., 1], torch.zeros(()), atol=1e-6)
    power = mask.square().sum(-1, keepdim=True)
    rest = torch.stack([1 - mask[..., 0].sum(1), -mask[..., 1].sum(1)], -1)[:, None]  # (B, 1, C, F, N, 2)
    assert torch.allclose(out - mask, power / power.sum(1, keepdim=True) * rest, atol=1e-6)


def test_a_consistent_bsrnn_adds_up_to_the_mixture_and_learns():
    model = tiny_bsrnn(channels=2, consistent=True)
    mix = torch.rand(2, 2, 700, generator=torch.Generator().manual_seed(1)) * 2 - 1
    out = model(mix)
    assert torch.allclose(out.sum(1), mix, atol=1e-5)
    assert not torch.allclose(tiny_bsrnn(channels=2)(mix).sum(1), mix, atol=1e-2)  # the check could fail
    out[:, 0].square().mean().backward()
    assert all(p.grad is not None for p in model.mask_out.parameters())
    assert model.init_args["consistent"] is True  # rebuilt from checkpoints as trained


def test_band_plans():
    assert sum(band_widths(paper_band_edges(44100), 44100, 2048)) == 1025
    assert len(paper_band_edges(44100)) - 1 == 41  # the paper's 41 sub-bands for vocals
    assert paper_band_edges(16000)[-1] == 8000
    assert tiny_bsrnn().band_widths == (4, 4, 8, 17)


@pytest.mark.parametrize("edges, match", [
    ((0, 500, 1000, 2000), "cover"),  # stops short of Nyquist (4000 Hz)
    ((100, 1000, 4000), "cover"),  # does not start at 0 Hz
    ((0, 1000, 5000), "cover"),  # beyond Nyquist
    ((0, 2000, 1000, 4000), "overlap"),
    ((0, 1000, 1000, 4000), "overlap"),
    ((0, 10, 4000), "no STFT bin"),  # 10 Hz < one bin of 125 Hz
    ((4000,), "cover"),
])
def test_bad_band_plans_fail_at_construction(edges, match):
    with pytest.raises(ValueError, match=match):
        tiny_bsrnn(band_edges=edges)


# ----------------------------------------------------------------------------- NMF
def test_nmf_separation_never_sees_the_references():
    system = NMFSeparator(tiny_nmf(channels=2))
    gen = torch.Generator().manual_seed(3)
    sources = torch.rand(2, 2, 2, 400, generator=gen) - 0.5
    mix = sources.sum(1)
    noise = torch.randn(sources.shape, generator=gen)
    with torch.no_grad():  # _step is what validation and test score: (loss, estimates, targets)
        _, with_refs, _ = system._step((mix, sources))
        _, with_noise, _ = system._step((mix, noise))
    assert torch.equal(with_refs, with_noise)
    assert torch.equal(with_refs, system(mix))
    assert inspect.signature(NMF.forward).parameters.keys() == {"self", "mix"}


def test_nmf_learns_from_the_stems_and_separates_disjoint_spectra():
    rate, T = 8000, 4000
    t = torch.arange(T) / rate
    gen = torch.Generator().manual_seed(0)

    def stems(batch: int) -> torch.Tensor:
        low = torch.stack([torch.sin(2 * math.pi * (200 + 100 * torch.rand(1, generator=gen)) * t) for _ in range(batch)])
        high = torch.stack([torch.sin(2 * math.pi * (2500 + 300 * torch.rand(1, generator=gen)) * t) for _ in range(batch)])
        return 0.5 * torch.stack([low, high], dim=1)[:, :, None]  # (B, S=2, C=1, T)

    model = NMF(sources=("low", "high"), channels=1, sample_rate=rate, n_fft=256, hop_length=64, components=4)
    before = model.dictionaries.clone()
    for _ in range(3):
        model.fit_batch(stems(4))
    assert not torch.allclose(model.dictionaries, before) and model.fitted.all()
    test = stems(2)
    est = model(test.sum(1))
    from waveunet_lit.metrics import new_sdr

    assert new_sdr(est, test).min() > 15  # dB


@pytest.mark.parametrize("divergence", ["kl", "euclidean"])
def test_multiplicative_updates_never_increase_the_divergence(divergence):
    gen = torch.Generator().manual_seed(0)
    V = torch.rand(20, 30, generator=gen)
    W, H = torch.rand(20, 4, generator=gen) + 0.1, torch.rand(4, 30, generator=gen) + 0.1
    previous = beta_divergence(V, W @ H, divergence)
    for _ in range(30):
        H = update_activations(V, W, H, divergence)
        W = update_dictionary(V, W, H, divergence)  # its unit-sum scaling changes W H: compare after H
        H = update_activations(V, W, H, divergence)
        value = beta_divergence(V, W @ H, divergence)
        assert value <= previous + 1e-6
        previous = value
    assert (W >= 0).all() and (H >= 0).all()


def test_nmf_estimates_add_up_to_the_mixture():
    model = tiny_nmf(channels=2, divergence="euclidean", mask_power=1.0)
    mix = torch.rand(3, 2, 777) - 0.5
    assert torch.allclose(model(mix).sum(1), mix, atol=1e-5)
    silence = torch.zeros(1, 2, 100)
    assert torch.equal(model(silence), torch.zeros(1, 2, 2, 100))


def test_nmf_refuses_sources_without_a_dictionary():
    with pytest.raises(ValueError, match=r"no learned dictionary for source\(s\) \['a', 'b'\]"):
        tiny_nmf(fitted=False)(torch.zeros(1, 2, 100))
    trained = tiny_nmf()
    with pytest.raises(ValueError, match=r"no dictionary for source\(s\) \['piano'\]"):
        NMF.from_dictionaries(trained.dictionary_map(), ("a", "piano"), n_fft=64, hop_length=16, components=3)
    with pytest.raises(ValueError, match="shape"):
        NMF.from_dictionaries(trained.dictionary_map(), ("a",), n_fft=128, hop_length=16, components=3)
    only_b = NMF.from_dictionaries(trained.dictionary_map(), ("b",), n_fft=64, hop_length=16, components=3,
                                   channels=2)
    assert torch.equal(only_b.dictionaries[0], trained.dictionaries[1])


def test_nmf_checkpoint_state_holds_the_dictionaries():
    trained = tiny_nmf()
    fresh = tiny_nmf(fitted=False, seed=7)
    fresh.load_state_dict(trained.state_dict())
    mix = torch.randn(1, 2, 300)
    assert torch.equal(fresh(mix), trained(mix))


@pytest.mark.parametrize("kw, match", [({"divergence": "itakura"}, "divergence"), ({"components": 0}, "components"),
                                       ({"mask_power": 0}, "mask_power"), ({"sources": ("a", "a")}, "sources")])
def test_nmf_bad_arguments(kw, match):
    with pytest.raises(ValueError, match=match):
        tiny_nmf(fitted=False, **kw)


def test_nmf_system_fits_from_stems_and_skips_validation_before_fitting():
    system = NMFSeparator(tiny_nmf(channels=1, fitted=False))
    stems = torch.rand(2, 2, 1, 300) - 0.5
    assert system.validation_step((stems.sum(1), stems), 0) is None  # sanity check before training
    assert system.configure_optimizers() is None and not system.automatic_optimization
    system.training_step((torch.full((2, 1, 300), float("nan")), stems), 0)  # the mixture is not used
    assert system.model.fitted.all() and torch.isfinite(system.model.dictionaries).all()
    with pytest.raises(ValueError, match="fit_batch expects"):
        system.model.fit_batch(stems[:, :1])
    with pytest.raises(ValueError, match="NMF"):
        NMFSeparator(tiny_unet())
