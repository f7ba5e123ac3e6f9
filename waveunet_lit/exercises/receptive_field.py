"""Checks for ``04_receptive_field``: the receptive field of a stack of (strided, dilated)
convolutions by formula, checked against the package's gradient probe on real layers."""

import random

from ..lessons.receptive import ConvStack
from ..receptive_field import measure_receptive_field
from . import call, expect

__all__ = ["CHECKS", "check_stack_receptive_field"]


def _stacks(seed: int = 0) -> list[list[tuple[int, int, int]]]:
    """Stacks of ``(kernel, stride, dilation)``: plain, then dilated, then strided, then mixed."""
    rng = random.Random(seed)
    stacks = [[(3, 1, 1)] * 3, [(5, 1, 1), (2, 1, 1)], [(3, 1, 1), (3, 1, 2), (3, 1, 4)], [(2, 1, 3), (4, 1, 2)],
              [(3, 2, 1), (3, 2, 1), (3, 1, 1)], [(4, 3, 1), (2, 1, 1)]]
    for _ in range(8):
        stacks.append([(rng.randint(2, 5), rng.randint(1, 3), rng.randint(1, 3)) for _ in range(rng.randint(2, 4))])
    return stacks


def _right(layers) -> int:
    r, jump = 1, 1
    for k, s, d in layers:
        r += d * (k - 1) * jump
        jump *= s
    return r


WRONG = (  # layers -> a wrong answer, and its hint
    (lambda layers: 1 + sum(k - 1 for k, s, d in layers), "You forgot the dilation (and the strides): a kernel "
     "of k taps, d apart, spans d (k - 1) + 1 samples."),
    (lambda layers: 1 + sum(d * (k - 1) for k, s, d in layers), "You forgot the strides: after a layer with stride "
     "s, one step of the next layer is s input samples, so its span counts s times."),
    (lambda layers: sum(d * (k - 1) + 1 for k, s, d in layers), "Spans of stacked layers overlap by one sample: "
     "each layer adds d (k - 1) (times the strides below it), and the field starts at 1."),
    (lambda layers: _right(layers) - 1, "Off by one: a single tap already sees 1 sample."),
)


def check_stack_receptive_field(fn) -> str:
    """``fn(layers)``: the receptive field of 'valid' ``Conv1d`` layers ``(kernel, stride,
    dilation)`` applied in order, checked against the gradient probe."""
    stacks = _stacks()
    cases = []
    for layers in stacks:
        net = ConvStack(layers)
        jumps = 1
        for _, s, _ in layers:
            jumps *= s
        n = 4 * _right(layers) + 4 * jumps  # enough input for several outputs
        cases.append((layers, measure_receptive_field(net, n, outputs=1, trials=1)))
    answers = [call(fn, [tuple(layer) for layer in layers]) for layers, _ in cases]
    for (layers, measured), got in zip(cases, answers):
        if got == measured:
            continue
        where = f"layers (kernel, stride, dilation) = {layers}: the probe measured {measured} samples, you said {got}. "
        for wrong, hint in WRONG:  # the wrong formula that explains every answer
            expect(not all(a == wrong(c[0]) for c, a in zip(cases, answers)), where + hint)
        expect(False, where + "r = 1 + sum over layers i of d_i (k_i - 1) times the product of the strides of the layers before i.")
    return f"right: your formula matches the probe on all {len(cases)} stacks"


CHECKS = {"stack_receptive_field": check_stack_receptive_field}
