"""Solution to the exercise of notebook 04."""


def stack_receptive_field(layers):
    r, jump = 1, 1  # jump: input samples between neighbouring samples of the current layer
    for kernel, stride, dilation in layers:
        r += dilation * (kernel - 1) * jump
        jump *= stride
    return r


if __name__ == "__main__":
    from waveunet_lit.exercises import receptive_field, report

    raise SystemExit(report(receptive_field.CHECKS, globals()))
