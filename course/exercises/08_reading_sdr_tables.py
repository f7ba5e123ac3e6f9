"""Exercise of notebook 08_reading_sdr_tables: the SiSEC number by hand.

Check your answer with ``waveunet_lit.exercises.sdr_tables.check_sisec_sdr(sisec_sdr)``.
"""


def sisec_sdr(frames, method: str, target: str) -> float:
    """The SiSEC 2018 aggregation of one method and target, written with pandas or numpy.

    ``frames`` is the long frame table (columns ``method, track, target, metric, time,
    score``; one row per 1 s frame and metric). Keep the rows of ``method``, ``target`` and
    metric ``"SDR"``; take the median over the frames of each track, leaving NaN frames out;
    return the median of those per-track medians as a float.
    """
    raise NotImplementedError("your code here")


if __name__ == "__main__":
    from waveunet_lit.exercises import sdr_tables, report

    raise SystemExit(report(sdr_tables.CHECKS, globals()))
