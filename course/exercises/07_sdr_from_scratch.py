"""Exercise of notebook 07_sdr_from_scratch: oracle tests of an SDR scorer.

Check your answer with ``waveunet_lit.exercises.sdr.check_oracle_tests(oracle_tests)``.
"""


def oracle_tests(scorer, references) -> None:
    """Test a scorer with estimates whose right score you know; raise AssertionError if it fails.

    ``scorer(estimates, references)`` takes two ``(S, C, T)`` tensors and returns the SDR of
    each source, ``(S,)`` in dB. ``references`` are ``(S, C, T)`` true sources of similar
    loudness. Write three oracles with ``assert``:

    1. the perfect estimate (``references`` itself) scores high (say above 40 dB) for every source;
    2. swapped stems (``references.flip(0)``) score low (below 0 dB) for every source;
    3. a doubled estimate (``2 * references``) has an error exactly as loud as the target:
       its SDR is 0 dB (within 1 dB).
    """
    raise NotImplementedError("your code here")


if __name__ == "__main__":
    from waveunet_lit.exercises import sdr, report

    raise SystemExit(report(sdr.CHECKS, globals()))
