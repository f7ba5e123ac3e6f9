"""Property tests at the borders: random bytes, random WAV headers and random tensors fed to
read_audio, load_separator and the metrics give a result that is right or a clear error
(a ValueError / FileNotFoundError / TypeError naming the file or the value), never another
exception, never a file written."""

import io
import math
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from waveunet_lit import load_separator
from waveunet_lit.audio import read_audio, write_audio
from waveunet_lit.bsseval import bss_eval_v4
from waveunet_lit.metrics import new_sdr, si_sdr

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def fresh(tmp_path: Path, name: str, data: bytes) -> Path:
    """A new folder holding only ``name`` (hypothesis reuses tmp_path across examples)."""
    folder = Path(tmp_path, f"case{len(list(tmp_path.iterdir()))}")
    folder.mkdir()
    (folder / name).write_bytes(data)
    return folder / name


# ------------------------------------------------------------------ read_audio


def check_read(path: Path) -> None:
    before = listing(path.parent)
    try:
        audio, rate = read_audio(path)
    except ValueError as err:
        assert str(path) in str(err)  # names the file
    else:
        assert audio.dtype == torch.float32 and audio.dim() == 2 and audio.shape[0] >= 1 and audio.shape[1] >= 1
        assert isinstance(rate, int) and rate > 0
    assert listing(path.parent) == before  # nothing written beside it


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300))
def test_read_audio_of_random_bytes(tmp_path, data):
    check_read(fresh(tmp_path, "song.wav", data))


def wav_header(fmt: int, channels: int, rate: int, byte_rate: int, align: int, bits: int, declared: int, payload: bytes) -> bytes:
    chunk = struct.pack("<HHIIHH", fmt, channels, rate, byte_rate, align, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(chunk)) + chunk + b"data" + struct.pack("<I", declared) + payload
    return b"RIFF" + struct.pack("<I", len(body)) + body


@FAST
@given(
    fmt=st.sampled_from([0, 1, 2, 3, 6, 7, 0xFFFE, 0x1234]),
    channels=st.one_of(st.integers(0, 9), st.integers(0, 0xFFFF)),
    rate=st.one_of(st.sampled_from([0, 1, 8000, 44100]), st.integers(0, 0xFFFFFFFF)),
    byte_rate=st.integers(0, 0xFFFFFFFF),
    align=st.integers(0, 0xFFFF),
    bits=st.sampled_from([0, 1, 8, 12, 16, 24, 32, 64, 65535]),
    declared=st.one_of(st.integers(0, 64), st.just(0xFFFFFFFF)),
    payload=st.binary(max_size=64),
)
def test_read_audio_of_random_wav_headers(tmp_path, fmt, channels, rate, byte_rate, align, bits, declared, payload):
    check_read(fresh(tmp_path, "song.wav", wav_header(fmt, channels, rate, byte_rate, align, bits, declared, payload)))


@FAST
@given(
    audio=st.integers(1, 3).flatmap(lambda c: st.integers(1, 50).flatmap(lambda t: st.lists(
        st.floats(-4, 4, width=32), min_size=c * t, max_size=c * t).map(lambda v: torch.tensor(v).reshape(c, t)))),
    rate=st.sampled_from([1, 8000, 44100, 192000]),
)
def test_random_tensors_come_back_exactly_from_a_float_wav(tmp_path, audio, rate):
    path = Path(tmp_path, f"case{len(list(tmp_path.iterdir()))}.wav")
    write_audio(path, audio, rate)
    back, r = read_audio(path)
    assert r == rate and torch.equal(back, audio)


def test_read_audio_names_a_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.wav"):
        read_audio(tmp_path / "nothing.wav")


# ------------------------------------------------------------------ load_separator


def check_load(path: Path) -> None:
    before = listing(path.parent)
    with pytest.raises(ValueError) as err:  # nothing random is a waveunet-lit checkpoint
        load_separator(path)
    assert str(path) in str(err.value)
    assert listing(path.parent) == before


@FAST
@given(data=st.binary(max_size=300))
def test_load_separator_of_random_bytes(tmp_path, data):
    check_load(fresh(tmp_path, "model.ckpt", data))


leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=8),
                   st.builds(torch.zeros, st.integers(0, 3)))
keys = st.sampled_from(["hyper_parameters", "state_dict", "model", "loss", "_class_path", "class_path", "init_args",
                        "sources", "x"])
objects = st.recursive(leaves, lambda kids: st.one_of(st.lists(kids, max_size=3), st.dictionaries(keys, kids, max_size=4)),
                       max_leaves=12)


@FAST
@given(obj=objects, how=st.sampled_from(["torch", "pickle"]))
def test_load_separator_of_random_pickled_objects(tmp_path, obj, how):
    buffer = io.BytesIO()
    torch.save(obj, buffer) if how == "torch" else pickle.dump(obj, buffer)
    check_load(fresh(tmp_path, "model.ckpt", buffer.getvalue()))


@FAST
@given(class_path=st.one_of(st.text(max_size=20), st.sampled_from(
    ["waveunet_lit.models.WaveUNet", "torch.nn.Linear", "os.system", "builtins.int", "no.such.Module", ""])),
    init_args=objects)
def test_load_separator_of_random_model_configurations(tmp_path, class_path, init_args):
    ckpt = {"hyper_parameters": {"model": {"class_path": class_path, "init_args": init_args}}, "state_dict": {}}
    buffer = io.BytesIO()
    torch.save(ckpt, buffer)
    check_load(fresh(tmp_path, "model.ckpt", buffer.getvalue()))


# ------------------------------------------------------------------ metrics


special = st.sampled_from([0.0, 1.0, -1.0, math.nan, math.inf, -math.inf, 1e-30, 1e30])
shapes = st.lists(st.integers(0, 4), min_size=0, max_size=4).map(tuple)


def tensors(shape):
    n = math.prod(shape)
    return st.lists(st.one_of(st.floats(-10, 10), special), min_size=n, max_size=n).map(
        lambda v: torch.tensor(v, dtype=torch.float64).reshape(shape))


@FAST
@given(data=st.data(), metric=st.sampled_from([new_sdr, si_sdr]))
def test_sdr_metrics_of_random_tensors(data, metric):
    shape = data.draw(shapes)
    other = data.draw(st.one_of(st.just(shape), shapes))
    est, target = data.draw(tensors(shape)), data.draw(tensors(other))
    try:
        value = metric(est, target)
    except ValueError as err:
        assert metric.__name__ in str(err)
        ok = shape == other and len(shape) >= 2 and bool(torch.isfinite(est).all() and torch.isfinite(target).all())
        assert not ok, f"a valid pair was refused: {err}"
        return
    assert shape == other and len(shape) >= 2
    assert torch.isfinite(est).all() and torch.isfinite(target).all(), "NaN/inf input gave a number"
    assert value.shape == shape[:-2] and not torch.isnan(value).any()


@pytest.mark.parametrize("metric", [new_sdr, si_sdr])
@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_sdr_metrics_refuse_a_nan_or_inf_target(metric, bad):
    target = torch.ones(2, 8)
    target[1, 3] = bad
    with pytest.raises(ValueError, match="target contains NaN or inf"):
        metric(torch.ones(2, 8), target)


@FAST
@given(metric=st.sampled_from([new_sdr, si_sdr]), thing=st.one_of(st.none(), st.integers(), st.lists(st.floats(), max_size=3)))
def test_sdr_metrics_of_things_that_are_not_tensors(metric, thing):
    with pytest.raises((TypeError, ValueError), match=metric.__name__):
        metric(thing, torch.ones(1, 4))


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_bss_eval_v4_of_random_small_tracks(data):
    S, C, T = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 2)), data.draw(st.integers(1, 120))
    window, hop = data.draw(st.integers(8, 64)), data.draw(st.integers(4, 64))
    filter_length = data.draw(st.integers(1, 8))
    g = torch.Generator().manual_seed(data.draw(st.integers(0, 2**31 - 1)))
    ref = torch.randn(S, C, T, generator=g, dtype=torch.float64)
    est = ref + data.draw(st.floats(0.01, 2)) * torch.randn(S, C, T, generator=g, dtype=torch.float64)
    damage = data.draw(st.sampled_from(["none", "nan", "inf", "silent", "shape"]))
    if damage in ("nan", "inf"):
        est[data.draw(st.integers(0, S - 1)), 0, data.draw(st.integers(0, T - 1))] = math.nan if damage == "nan" else math.inf
    elif damage == "silent":
        ref[data.draw(st.integers(0, S - 1))] = 0
    elif damage == "shape":
        est = est[..., : T - 1] if T > 1 else est[None]
    try:
        scores = bss_eval_v4(est, ref, window=window, hop=hop, filter_length=filter_length)
    except ValueError as err:
        assert "bss_eval_v4" in str(err)
        assert damage != "none" or T < filter_length, f"a valid track was refused: {err}"
        return
    assert damage == "none", f"{damage} input gave scores"
    for name in ("SDR", "ISR", "SIR", "SAR"):
        assert scores[name].shape[0] == S and scores[name].dtype == torch.float64
