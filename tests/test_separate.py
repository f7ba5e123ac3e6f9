"""Full-length separation: any length, rate and channel count; atomic writes."""

import os

import pytest
import torch

from waveunet_lit.models import WaveUNet
from waveunet_lit.separate import read_audio, separate, separate_file, write_audio


def net(channels=2, context=True):
    torch.manual_seed(0)
    return WaveUNet(sources=("vocals", "accompaniment"), channels=channels, sample_rate=8000, levels=3, features=4, context=context).eval()


@pytest.mark.parametrize("context", [True, False])
@pytest.mark.parametrize("channels_in", [1, 2, 3])
@pytest.mark.parametrize("length", [1, 37, 5000, 23456])
def test_any_length_and_channel_count(context, channels_in, length):
    model = net(channels=1 if channels_in == 3 else 2, context=context)
    out = separate(model, torch.randn(channels_in, length), rate=8000, segment=2000)
    assert out.shape == (2, channels_in, length)


def test_tiling_equals_one_big_forward_pass():
    """Tiles carry their own context, so tiling changes nothing for a 'valid' model."""
    model = net()
    song = torch.randn(2, 9000)
    n_out = 9000
    n_in = model.valid_length(n_out)
    offset = (n_in - model.output_length(n_in)) // 2
    padded = torch.nn.functional.pad(song, (offset, n_in - offset - 9000))
    with torch.no_grad():
        whole = model(padded[None])[0, ..., :9000]
    tiled = separate(model, song, rate=8000, segment=1000)
    torch.testing.assert_close(tiled, whole, atol=1e-5, rtol=0)


def test_resampling_round_trip_keeps_difference_output_sum():
    model = net()
    t = torch.arange(22050) / 22050
    song = torch.stack([0.3 * torch.sin(2 * torch.pi * 220 * t), 0.2 * torch.sin(2 * torch.pi * 1500 * t)])
    stems = separate(model, song, rate=22050)  # 22.05 kHz -> 8 kHz model -> 22.05 kHz
    assert stems.shape == (2, 2, 22050)
    # below the model's Nyquist frequency the stems add up to the song, up to the resampler
    assert (stems.sum(0) - song)[:, 200:-200].abs().max() < 0.01


def test_nan_input_is_rejected():
    song = torch.zeros(2, 100)
    song[0, 5] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        separate(net(), song, rate=8000)


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


def test_unwritable_output_folder(tmp_path):
    song = tmp_path / "song.wav"
    write_audio(song, torch.zeros(1, 800), 8000)
    blocker = tmp_path / "out"
    blocker.write_text("a file where a folder should be")
    with pytest.raises(OSError, match="out"):
        separate_file(net(), song, blocker)
