"""Notebook 10's exercise checks fail plausible wrong answers, each with its hint
(that every solution passes and every stub fails: tests/test_course.py)."""

import pytest
import torch

from waveunet_lit.exercises import run_checks
from waveunet_lit.exercises.training import CHECKS
from waveunet_lit.models import center_crop


def _loop(lr=1e-2, zero_grad=True, step=True, crop=True):
    def overfit_one_batch(model, mix, sources, steps):
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        losses = []
        for _ in range(steps):
            est = model(mix)
            target = center_crop(sources, est.shape[-1]) if crop else sources
            loss = torch.nn.functional.mse_loss(est, target)
            if zero_grad:
                optimizer.zero_grad()
            loss.backward()
            if step:
                optimizer.step()
            losses.append(loss.item())
        return losses

    return overfit_one_batch


def _made_up(model, mix, sources, steps):  # numbers that look like a falling loss, no training
    return [0.1 / (k + 1) for k in range(steps)]


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (_loop(step=False), "optimizer.step()"),
        (_loop(zero_grad=False), "Zero the gradients"),
        (_loop(lr=1e-4), "below 3%"),
        (_loop(crop=False), "raised"),  # targets not cropped: the shapes differ
        (_made_up, "first loss"),
    ],
)
def test_wrong_answers_fail_with_a_hint(wrong, hint):
    (result,) = run_checks(CHECKS, {"overfit_one_batch": wrong})
    assert not result.passed and hint in result.message, result.message
