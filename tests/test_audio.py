"""Audio plumbing (waveunet_lit.audio): the one channel rule, resampling, files, devices, the
data root; with the bad inputs each refuses."""

import os
import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf
import torch
import torchaudio.functional as AF
from torch import nn

from waveunet_lit.audio import (
    default_data_root, model_device, model_dtype, read_audio, resample, resample_into, to_channels, write_audio,
)


# ------------------------------------------------------------------ channels


def test_channel_rule_mono_copies_and_mono_averages():
    stereo = torch.tensor([[1.0, -2.0, 3.0], [3.0, 0.0, -1.0]])  # (C, T)
    torch.testing.assert_close(to_channels(stereo, 1), torch.tensor([[2.0, -1.0, 1.0]]))
    torch.testing.assert_close(to_channels(stereo[1:], 2), torch.tensor([[3.0, 0.0, -1.0]] * 2))
    three = torch.arange(12.0).reshape(3, 4)
    torch.testing.assert_close(to_channels(three, 1), three.mean(0, keepdim=True))
    assert to_channels(stereo, 2) is stereo  # same count: untouched


def test_channel_rule_works_on_leading_dimensions():
    stems = torch.randn(4, 1, 100)  # (S, C, T)
    out = to_channels(stems, 2)
    assert out.shape == (4, 2, 100) and torch.equal(out[:, 0], out[:, 1]) and torch.equal(out[:, 0], stems[:, 0])


@pytest.mark.parametrize("shape, channels, match", [
    ((3, 10), 2, "3 channels to a 2-channel"),
    ((2, 10), 3, "2 channels to a 3-channel"),
    ((10,), 1, r"\(\.\.\., C, T\)"),
    ((2, 10), 0, "channels must be >= 1"),
])
def test_channel_rule_refuses_what_it_does_not_define(shape, channels, match):
    with pytest.raises(ValueError, match=match):
        to_channels(torch.zeros(shape), channels)


def test_data_and_cache_use_the_same_rule():
    from waveunet_lit.data.cache import _convert

    stereo = np.random.default_rng(0).standard_normal((2, 4410)).astype(np.float32)
    expected = resample(to_channels(torch.from_numpy(stereo), 1), 44100, 8000).numpy()
    np.testing.assert_allclose(_convert(stereo, 44100, 8000, 1), expected, atol=1e-7)


# ------------------------------------------------------------------ resampling


def test_resampling_keeps_a_sine_at_its_frequency():
    """An independent fact: a 440 Hz sine sampled at 44.1 kHz, resampled to 8 kHz, is the same
    sine sampled at 8 kHz (away from the ends, where the filter sees zeros)."""
    t44, t8 = torch.arange(44100) / 44100, torch.arange(8000) / 8000
    out = resample(torch.sin(2 * torch.pi * 440 * t44)[None].double().float(), 44100, 8000)
    assert out.shape == (1, 8000)
    torch.testing.assert_close(out[0, 100:-100], torch.sin(2 * torch.pi * 440 * t8)[100:-100], atol=2e-3, rtol=0)


def test_resampling_at_the_same_rate_is_the_signal_itself():
    x = torch.randn(2, 100)
    assert resample(x, 8000, 8000) is x


@pytest.mark.parametrize("orig, new", [(0, 8000), (44100, -1), (44100.5, 8000)])
def test_resampling_refuses_bad_rates(orig, new):
    with pytest.raises(ValueError, match="positive whole number of Hz"):
        resample(torch.zeros(1, 100), orig, new)


def test_resampling_refuses_integer_audio_and_mismatched_buffers():
    with pytest.raises(ValueError, match="floating-point"):
        resample(torch.zeros(1, 100, dtype=torch.int16), 44100, 8000)
    with pytest.raises(ValueError, match="differ before the last dimension"):
        resample_into(torch.zeros(2, 100), 44100, 8000, torch.empty(3, 20))


# ------------------------------------------------------------------ devices and the data root


class BuffersOnly(nn.Module):
    """Like NMF: no parameters, a bool buffer first."""

    def __init__(self):
        super().__init__()
        self.register_buffer("fitted", torch.zeros(2, dtype=torch.bool))
        self.register_buffer("dictionaries", torch.zeros(2, 3, dtype=torch.float64))


def test_device_and_dtype_of_models_with_buffers_only_or_nothing():
    assert model_device(BuffersOnly()).type == "cpu" and model_dtype(BuffersOnly()) == torch.float64
    assert model_device(nn.ReLU()).type == "cpu" and model_dtype(nn.ReLU()) == torch.float32
    assert model_dtype(nn.Conv1d(1, 1, 3).half()) == torch.float16


def test_data_root_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("WAVEUNET_DATA", str(tmp_path / "data"))
    assert default_data_root() == tmp_path / "data"
    from waveunet_lit.data.toy import default_toy_root

    assert default_toy_root() == tmp_path / "data" / "toy-musdb"
    monkeypatch.setenv("WAVEUNET_DATA", "")
    assert default_data_root() == default_data_root().home() / ".cache" / "waveunet-lit"


# ------------------------------------------------------------------ files


def test_write_refuses_audio_that_is_not_channels_by_samples(tmp_path):
    with pytest.raises(ValueError, match=r"\(C, T\)"):
        write_audio(tmp_path / "x.wav", torch.zeros(2, 2, 10), 8000)
    assert not (tmp_path / "x.wav").exists()


def test_wav_round_trip_is_exact(tmp_path):
    audio = torch.randn(2, 1000) * 0.5
    write_audio(tmp_path / "x.wav", audio, 8000)
    back, rate = read_audio(tmp_path / "x.wav")
    assert rate == 8000 and torch.equal(back, audio)


def test_an_empty_file_is_refused(tmp_path):
    sf.write(tmp_path / "empty.wav", np.zeros((0, 2), np.float32), 8000)
    with pytest.raises(ValueError, match="empty.wav holds no audio"):
        read_audio(tmp_path / "empty.wav")


def test_missing_and_non_audio_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.wav"):
        read_audio(tmp_path / "nope.wav")
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"\x00" * 100)
    with pytest.raises(ValueError, match="junk.wav"):
        read_audio(junk)


def test_write_is_atomic_and_keeps_old_file_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "vocals.wav"
    write_audio(path, torch.zeros(2, 10), 8000)
    before = path.read_bytes()
    import soundfile

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(soundfile, "write", broken)
    with pytest.raises(RuntimeError):
        write_audio(path, torch.ones(2, 10), 8000)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["vocals.wav"]  # no temporary file left


@pytest.mark.parametrize("orig, new", [(44100, 8000), (8000, 44100), (22050, 44100), (48000, 44100), (32000, 44100)])
def test_blockwise_resampling_equals_torchaudio(orig, new):
    x = torch.randn(2, 3, 20011)
    ref = AF.resample(x, orig, new)
    out = resample_into(x, orig, new, torch.empty(2, 3, ref.shape[-1] + 5), block=3000)
    torch.testing.assert_close(out[..., : ref.shape[-1]], ref, atol=2e-5, rtol=0)
    assert out[..., ref.shape[-1] :].abs().max() == 0  # past the end: zeros


def tone(seconds=0.5, rate=8000, channels=2):
    t = torch.arange(int(seconds * rate)) / rate
    return torch.stack([0.3 * torch.sin(2 * torch.pi * 440 * (c + 1) * t) for c in range(channels)])


@pytest.mark.parametrize("suffix", ["flac", "ogg"])
def test_soundfile_formats_are_read(tmp_path, suffix):
    path = tmp_path / f"song.{suffix}"
    sf.write(path, tone().T.numpy(), 8000)
    audio, rate = read_audio(path)
    assert rate == 8000 and audio.shape == (2, 4000)


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg program")
@pytest.mark.parametrize("suffix", ["mp3", "m4a"])
def test_compressed_formats_are_read_through_ffmpeg(tmp_path, suffix):
    wav = tmp_path / "song.wav"
    sf.write(wav, tone(1.0, 44100).T.numpy(), 44100)
    path = tmp_path / f"song.{suffix}"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(wav), str(path)], check=True)
    audio, rate = read_audio(path)
    assert rate == 44100 and audio.shape[0] == 2 and abs(audio.shape[1] - 44100) < 3000  # codecs pad
    assert audio.abs().max() > 0.1


def test_unreadable_compressed_file_names_the_file(tmp_path):
    junk = tmp_path / "junk.mp3"
    junk.write_bytes(b"ID3" + b"\x00" * 50)
    with pytest.raises(ValueError, match="junk.mp3"):
        read_audio(junk)


def test_flac_output_is_clipped_and_bad_format_refused(tmp_path):
    loud = torch.tensor([[0.5, 2.0, -3.0]])  # mono: its (T, C) transpose is contiguous already
    write_audio(tmp_path / "loud.flac", loud, 8000)
    audio, _ = sf.read(tmp_path / "loud.flac")
    assert abs(audio.max() - 1.0) < 1e-4 and abs(audio.min() + 1.0) < 1e-4
    assert loud.tolist() == [[0.5, 2.0, -3.0]]  # clipped a copy, not the caller's tensor
    with pytest.raises(ValueError, match="mp3"):
        write_audio(tmp_path / "x.mp3", torch.zeros(1, 10), 8000)


def test_written_files_get_the_usual_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        write_audio(tmp_path / "a.wav", torch.zeros(1, 10), 8000)
    finally:
        os.umask(old)
    assert (tmp_path / "a.wav").stat().st_mode & 0o777 == 0o644
