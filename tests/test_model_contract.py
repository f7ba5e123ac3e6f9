"""The model contract (waveunet_lit.models.common), checked for every model a shipped config builds.

The configs in waveunet_lit/configs/ are the list of models: a new model is one model file plus
one YAML (and its CPU size in waveunet_lit.config.SMALL), and these tests cover it without being
touched. Every config's model is built at full size through waveunet_lit.config.instantiate, the
path fit and info take (cheap: attributes and length arithmetic); forward passes, gradient probes
and tiled separation run on its shrunk copy (waveunet_lit.config.shrink), the same class.

Each check is a plain function that raises AssertionError; the last tests feed them broken
subclasses (wrong output_length, wrong period, ...) to show that each check can fail.
"""

import copy
import functools
from importlib.resources import files

import pytest
import torch
from torch import nn

import waveunet_lit.models as models
from waveunet_lit.config import instantiate, load_config, model_node, shrink
from waveunet_lit.models import center_crop
from waveunet_lit.receptive_field import measure_receptive_field
from waveunet_lit.separate import separate, tile_plan

CONFIGS = sorted(p.name for p in files("waveunet_lit").joinpath("configs").iterdir() if p.name.endswith(".yaml"))
#: Further caps on the training-sized copies: the probes run over one period (2**levels outputs
#: or more), and NMF's multiplicative updates cost a second a pass at full count on a busy CPU.
CAPS = {"levels": 3, "iterations": 10, "components": 8}
#: Layers whose output depends on the whole input (statistics over time, recurrence): a model
#: holding one has no bounded receptive field, and its tiles cannot equal one forward pass.
GLOBAL_LAYERS = (nn.GroupNorm, nn.InstanceNorm1d, nn.LSTM, nn.GRU, nn.RNN, nn.MultiheadAttention)


def model_config(name: str, small: bool = False) -> dict:
    """The ``{class_path, init_args}`` node of the model of a shipped config (shrunk or not)."""
    node = model_node(load_config(str(files("waveunet_lit").joinpath("configs", name))), name)
    if not small:
        return node
    node = shrink(node)
    args = node["init_args"]
    for key, most in CAPS.items():
        if key in args:
            args[key] = min(args[key], most)
    return node


@functools.cache
def build(name: str, small: bool = False, cls: type | None = None) -> nn.Module:
    """The model of config ``name`` (``cls`` replaces its class: for the broken subclasses).
    Built once per session: no check changes a model (probes work on copies)."""
    node = model_config(name, small)
    torch.manual_seed(0)
    model = (cls(**node.get("init_args", {})) if cls else instantiate(node)).eval()
    if small and hasattr(model, "fit_batch"):  # learns by its own updates (NMF): give it stems
        model.fit_batch(torch.rand(1, len(model.sources), model.channels, 4 * model.sample_rate // 10))
    return model


def accepts(model: nn.Module, n: int) -> bool:
    try:
        model.output_length(n)
        return True
    except ValueError:
        return False


def is_local(model: nn.Module) -> bool:
    """A bounded receptive field that the model can compute (and a probe can measure)."""
    return hasattr(model, "receptive_field") and not any(isinstance(m, GLOBAL_LAYERS) for m in model.modules())


def is_valid(model: nn.Module) -> bool:
    """'valid' (context) models return fewer samples than they take."""
    n = model.valid_length(1000)
    return model.output_length(n) < n


# ------------------------------------------------------------------ the checks


def check_attributes(model: nn.Module, args: dict) -> None:
    assert isinstance(model.sources, tuple) and model.sources and all(isinstance(s, str) for s in model.sources)
    assert model.sources == tuple(args.get("sources", model.sources))
    assert isinstance(model.channels, int) and model.channels == args.get("channels", model.channels) >= 1
    assert isinstance(model.sample_rate, int) and model.sample_rate == args.get("sample_rate", model.sample_rate) > 0
    assert isinstance(model.period, int) and model.period >= 1, f"period {model.period!r}"


def check_length_arithmetic(model: nn.Module) -> None:
    """valid_length(n) is accepted, covers n, and is the smallest input that does."""
    first = model.valid_length(1)
    assert accepts(model, first) and model.output_length(first) >= 1, f"valid_length(1) = {first} is refused"
    assert first == 1 or not accepts(model, first - 1), f"{first - 1} samples accepted, below valid_length(1)"
    for n in (1, 2, 7, 100, 1000, 4097, 3 * model.sample_rate):
        m = model.valid_length(n)
        assert accepts(model, m) and model.output_length(m) >= n, f"valid_length({n}) = {m} is refused or too short"
        assert model.valid_length(model.output_length(m)) <= m
        for shorter in range(max(1, m - 2 * model.period - 2), m):  # minimal
            assert not accepts(model, shorter) or model.output_length(shorter) < n, (n, m, shorter)


def check_forward(model: nn.Module) -> None:
    """Shapes of a real forward pass: (B, S, C, output_length(n)); refused lengths raise."""
    first = model.valid_length(1)
    lengths = sorted({first, *(model.valid_length(k) for k in (50, 301, 1000))}) + [first + 1, first + 3, 257, 331]
    for n in lengths:
        x = torch.randn(2, model.channels, n)
        if accepts(model, n):
            try:
                with torch.no_grad():
                    out = model(x)
            except Exception as err:  # a wrong formula often breaks the forward pass itself
                raise AssertionError(f"output_length accepts {n} samples, but forward fails: {err}") from err
            expected = (2, len(model.sources), model.channels, model.output_length(n))
            assert tuple(out.shape) == expected, f"input {n}: forward gives {tuple(out.shape)}, contract says {expected}"
        else:
            with pytest.raises(ValueError):
                model(x)
    with pytest.raises(ValueError, match=r"\(B, C=%d, T\)" % model.channels):
        model(torch.zeros(1, model.channels + 1, first))


def check_receptive_field(model: nn.Module) -> None:
    """The computed receptive field equals a gradient probe over one period of outputs."""
    rf, P = model.receptive_field(), model.period
    n = model.valid_length(2 * rf + 4 * P)  # the probed outputs stay away from the borders
    measured = measure_receptive_field(model, n, outputs=P, trials=3)
    assert measured == rf, f"receptive_field() says {rf}, the gradient probe measures {measured}"


def shift_error(model: nn.Module, shift: int) -> float:
    """Largest change between the outputs for x and for x shifted by ``shift`` samples, at the
    outputs that see only real input in both (float64, so rounding cannot hide a change)."""
    probe = copy.deepcopy(model).double()
    rf, P = model.receptive_field(), model.period
    n = model.valid_length(2 * rf + 4 * P + shift)
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(1, model.channels, n + shift, generator=gen, dtype=torch.float64)
    with torch.no_grad():
        a, b = probe(x[..., :n]), probe(x[..., shift:])  # b's output j is a's output j + shift
    margin = rf if a.shape[-1] == n else 0  # 'same' models: away from the zero padding
    T = a.shape[-1] - shift - 2 * margin
    assert T > 0, "input too short for the shift test"
    return float((a[..., margin + shift : margin + shift + T] - b[..., margin : margin + T]).abs().max())


def check_period(model: nn.Module) -> None:
    """Shifting the input by ``period`` shifts the output alike, and ``period`` is the smallest
    such shift: shifting by ``period / q`` (q each prime factor) changes the output.

    In float64 a true shift changes nothing beyond rounding (< 1e-12); a shift against the
    grid of the deepest level changes the output by far more, even though that level's share
    is small in a randomly initialised network (> 1e-10; 2e-9 for the dilated model).
    """
    P = model.period
    error = shift_error(model, P)
    assert error < 1e-12, f"the output does not follow a shift by period={P} (changes by {error:.2g})"
    for q in sorted({q for q in range(2, P + 1) if P % q == 0 and all(q % r for r in range(2, int(q**0.5) + 1))}):
        error = shift_error(model, P // q)
        assert error > 1e-10, f"the output already follows a shift by {P // q} (changes by {error:.2g}): period={P} is too large"


def whole_pass(model: nn.Module, song: torch.Tensor) -> torch.Tensor:
    """One forward pass over the song with zero context at both ends: ``(S, C, T)``."""
    T = song.shape[-1]
    n_in = model.valid_length(T)
    offset = (n_in - model.output_length(n_in)) // 2
    with torch.no_grad():
        return model(nn.functional.pad(song, (offset, n_in - offset - T))[None])[0, ..., :T]


def check_tiling(model: nn.Module) -> None:
    """For a 'valid' model, tiled separation gives one forward pass (tiles start at multiples of
    the period, each carrying its own context)."""
    for segment in (2 * model.period + 5, 3 * model.period + 5):  # hops of even and odd multiples
        plan = tile_plan(model, segment=segment)
        assert plan["hop"] % model.period == 0 and not plan["overlap_add"]
        song = torch.randn(model.channels, 3 * plan["hop"] + 17, generator=torch.Generator().manual_seed(2))
        tiled = separate(model, song, model.sample_rate, segment=segment, batch_size=2)
        torch.testing.assert_close(tiled, whole_pass(model, song), atol=1e-5, rtol=0)


def check_difference_output(model: nn.Module) -> None:
    """With a difference output the stems add up to the (centre of the) mixture."""
    mix = torch.randn(2, model.channels, model.valid_length(500))
    with torch.no_grad():
        out = model(mix)
    torch.testing.assert_close(out.sum(1), center_crop(mix, out.shape[-1]), atol=1e-5, rtol=0)


# ------------------------------------------------------------------ every config


@pytest.fixture(scope="module", params=CONFIGS)
def config(request):
    return request.param


@pytest.fixture(scope="module")
def small(config):
    return build(config, small=True)


def test_every_separation_model_has_a_config():
    """Adding a model without a YAML (or a YAML naming a class outside waveunet_lit.models)
    fails here."""
    from_configs = {type(build(name)) for name in CONFIGS}
    exported = [getattr(models, n) for n in models.__all__]
    separation = {c for c in exported if isinstance(c, type) and issubclass(c, nn.Module) and hasattr(c, "output_length")}
    assert from_configs == separation
    assert len(separation) == 8


def test_full_size_attributes_and_length_arithmetic(config):
    model = build(config)
    check_attributes(model, model_config(config).get("init_args", {}))
    check_length_arithmetic(model)


def test_shrunk_copy_is_the_same_class_and_keeps_the_contract(config, small):
    assert type(small) is type(build(config))
    check_attributes(small, model_config(config, small=True).get("init_args", {}))
    check_length_arithmetic(small)


def test_forward_pass_agrees_with_the_length_arithmetic(small):
    check_forward(small)


def test_receptive_field_formula_equals_the_gradient_probe(small):
    if not is_local(small):
        pytest.skip(f"{type(small).__name__} here has layers that see the whole input")
    check_receptive_field(small)


def test_output_follows_shifts_by_exactly_the_period(small):
    if not is_local(small):
        pytest.skip(f"{type(small).__name__} here has layers that see the whole input")
    check_period(small)


def test_tiled_separation_equals_one_forward_pass(small):
    if not is_valid(small):
        pytest.skip("'same' models cross-fade overlapping tiles instead (tests/test_separate.py)")
    if not is_local(small):
        # GroupNorm statistics are taken per tile: tiles still start on the period grid.
        assert tile_plan(small, segment=3 * small.period)["hop"] % small.period == 0
        pytest.skip(f"{type(small).__name__} here normalises over the whole tile: no tiling equals one pass")
    check_tiling(small)


def test_stems_of_a_difference_output_sum_to_the_mixture(small):
    if getattr(small, "output", None) != "difference":
        pytest.skip("not a difference output")
    check_difference_output(small)


def test_every_check_runs_on_some_config():
    """No check is skipped for every config (then it would check nothing)."""
    built = [build(name, small=True) for name in CONFIGS]
    assert any(is_local(m) for m in built) and any(is_valid(m) and is_local(m) for m in built)
    assert any(getattr(m, "output", None) == "difference" for m in built)
    assert sum(is_local(m) for m in built) >= 10


# ------------------------------------------------------------------ the checks can fail


class LongerOutput(models.WaveUNet):
    def output_length(self, n):
        return super().output_length(n) + 1


class ShortValidLength(models.WaveUNet):
    def valid_length(self, n):
        return super().valid_length(n) - 1


class HalfPeriod(models.WaveUNet):
    @property
    def period(self):
        return 2 ** (self.levels - 1)


class DoublePeriod(models.WaveUNet):
    @property
    def period(self):
        return 2 ** (self.levels + 1)


class SmallReceptiveField(models.WaveUNet):
    def receptive_field(self):
        return super().receptive_field() - 1


class StrayStems(models.WaveUNet):
    def forward(self, mix):
        return super().forward(mix) * 1.01


BROKEN = [
    (LongerOutput, check_forward, "output_length accepts .* but forward fails"),
    (ShortValidLength, check_length_arithmetic, "valid_length.* is refused"),
    (HalfPeriod, check_period, "does not follow a shift by period=4"),
    (HalfPeriod, check_tiling, "Tensor-likes are not close"),
    (DoublePeriod, check_period, "period=16 is too large"),
    (SmallReceptiveField, check_receptive_field, "gradient probe measures"),
    (StrayStems, check_difference_output, "Tensor-likes are not close"),
]


@pytest.mark.parametrize("cls, check, message", BROKEN, ids=[f"{c.__name__}-{f.__name__}" for c, f, _ in BROKEN])
def test_the_checks_catch_a_broken_model(cls, check, message):
    broken = build("m4.yaml", small=True, cls=cls)
    with pytest.raises(AssertionError, match=message):
        check(broken)
    check(build("m4.yaml", small=True))  # the same check passes on the real class
