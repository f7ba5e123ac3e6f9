"""Exercise of notebook 12 (the Wave-U-Net family): predict the larger receptive field.

For each pair in ``waveunet_lit.exercises.family.PAIRS``, say which config sees more input
samples per output sample, ``"A"``, ``"B"`` or ``"same"``, before computing anything. The
notebook runs the check: ``check_predictions(predictions)``.
"""

predictions = {"depth_or_kernel": None, "context": None, "strided": None}


if __name__ == "__main__":
    from waveunet_lit.exercises import family, report

    raise SystemExit(report(family.CHECKS, globals()))
