"""Exercise of notebook 10 (training with Lightning): overfit one batch, by hand.

The notebook runs the check: ``check_overfit_one_batch(overfit_one_batch)``
(``waveunet_lit.exercises.training``).
"""


def overfit_one_batch(model, mix, sources, steps: int) -> list[float]:
    """Train ``model`` on one fixed batch for ``steps`` optimizer steps; return the losses.

    Args:
        model: a separation model: ``model(mix)`` gives ``(B, S, C, T_out)``.
        mix: ``(B, C, T_in)``.
        sources: ``(B, S, C, T_in)``: the targets are ``center_crop(sources, T_out)``
            (``waveunet_lit.models.center_crop``).
        steps: how many optimizer steps.

    Returns:
        The mean squared error of every step, measured before that step's update (a list of
        ``steps`` floats). The check wants the loss below 3 % of its start after 100 steps.
    """
    raise NotImplementedError("an optimizer, then per step: forward, MSE, zero_grad, backward, step")


if __name__ == "__main__":
    from waveunet_lit.exercises import training, report

    raise SystemExit(report(training.CHECKS, globals()))
