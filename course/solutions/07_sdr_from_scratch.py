"""Solution of the exercise of notebook 07_sdr_from_scratch."""


def oracle_tests(scorer, references) -> None:
    """Perfect estimate high, swapped stems low, doubled estimate at 0 dB."""
    perfect = scorer(references, references)
    assert (perfect > 40).all(), f"a perfect estimate should score above 40 dB, got {perfect.tolist()}"
    swapped = scorer(references.flip(0), references)
    assert (swapped < 0).all(), f"swapped stems should score below 0 dB, got {swapped.tolist()}"
    doubled = scorer(2 * references, references)
    assert (doubled.abs() < 1).all(), f"a doubled estimate should score 0 dB, got {doubled.tolist()}"


if __name__ == "__main__":
    from waveunet_lit.exercises import sdr, report

    raise SystemExit(report(sdr.CHECKS, globals()))
