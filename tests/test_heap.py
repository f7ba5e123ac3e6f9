"""waveunet_lit.heap.reuse_freed_memory: pages of freed blocks reused (glibc), defaults back after."""

import contextlib
import json
import subprocess
import sys

import pytest
import torch

import waveunet_lit.separate as separate_module
from waveunet_lit import heap
from waveunet_lit.heap import reuse_freed_memory
from waveunet_lit.models import WaveUNet

glibc_only = pytest.mark.skipif(heap._glibc() is None, reason="glibc's mallopt is not there (not Linux/glibc)")

# Measured in a fresh process: a test worker's heap holds whatever earlier tests left in it.
# The blocks are a forward pass's, as in `separate`: a lone block of one size can leave holes
# that the padding of an aligned allocation does not fit, and then new pages are taken anyway.
PROBE = r"""
import json, resource, torch
from waveunet_lit import heap
from waveunet_lit.heap import reuse_freed_memory
from waveunet_lit.models import WaveUNet

torch.manual_seed(0)
net = WaveUNet(sources=("vocals", "other"), channels=2, sample_rate=8000, levels=4, features=8).eval()
x = torch.randn(1, 2, net.valid_length(2**21))  # activations of 8-64 MiB each

def faults_of_a_pass(passes=3):
    # minor page faults of the last of a few forward passes, as of the tiles of a song
    with torch.inference_mode():
        for _ in range(passes - 1):
            net(x)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        net(x)
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

out = {"outside": faults_of_a_pass()}
with reuse_freed_memory() as on:
    out["on"] = on
    out["inside"] = faults_of_a_pass()
    with reuse_freed_memory():
        pass
    out["after_inner_block"] = faults_of_a_pass()  # the inner block's end restored nothing
out["after"] = faults_of_a_pass()
try:
    with reuse_freed_memory():
        raise RuntimeError("stop")
except RuntimeError:
    pass
out["after_error"] = faults_of_a_pass()
out["depth"] = heap._depth
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def faults() -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@glibc_only
def test_freed_pages_are_reused_inside_and_returned_after(faults):
    assert faults["on"] is True
    assert faults["outside"] > 50_000, faults  # glibc's default: fresh pages for every large block
    assert faults["inside"] < faults["outside"] / 4, faults
    assert faults["after"] > 50_000, faults  # the defaults are back


@glibc_only
def test_nested_blocks_keep_the_setting_until_the_outer_one_ends(faults):
    assert faults["after_inner_block"] < faults["outside"] / 4, faults


@glibc_only
def test_an_error_inside_still_restores_the_defaults(faults):
    assert faults["after_error"] > 50_000 and faults["depth"] == 0, faults


def test_other_c_libraries_get_nothing_changed(monkeypatch):
    monkeypatch.setattr(sys, "platform", "darwin")
    with reuse_freed_memory() as on:
        assert on is False
    assert heap._depth == 0


def test_separate_gives_the_same_stems_with_and_without(monkeypatch):
    torch.manual_seed(0)
    net = WaveUNet(sources=("vocals", "other"), channels=2, sample_rate=8000, levels=3, features=4).eval()
    song = torch.randn(2, 40_000)
    reused = separate_module.separate(net, song, rate=8000, segment=4000)
    monkeypatch.setattr(separate_module, "reuse_freed_memory", contextlib.nullcontext)
    plain = separate_module.separate(net, song, rate=8000, segment=4000)
    assert torch.equal(reused, plain)
