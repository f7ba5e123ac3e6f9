"""Exercise of notebook 04: the receptive field of a stack of convolutions, by formula.

Write the function, then run this file: `python course/exercises/04_receptive_field.py`. The
check measures real layers with the package's gradient probe.
"""


def stack_receptive_field(layers):
    """How many input samples one output sample of a stack of 'valid' `Conv1d` layers sees.

    Args:
        layers: list of `(kernel, stride, dilation)` tuples, applied in order (the first one
            reads the input).

    A dilated layer's taps are `dilation` samples apart; after a layer with stride `s`, one
    step of the next layer is `s` samples of that layer's input.
    """
    raise NotImplementedError("your code here")


if __name__ == "__main__":
    from waveunet_lit.exercises import receptive_field, report

    raise SystemExit(report(receptive_field.CHECKS, globals()))
