"""Solution of the exercise of notebook 08_reading_sdr_tables."""


def sisec_sdr(frames, method: str, target: str) -> float:
    """Median over tracks of the per-track medians (pandas' median skips NaN)."""
    sel = frames[(frames.method == method) & (frames.target == target) & (frames.metric == "SDR")]
    return float(sel.groupby("track").score.median().median())


if __name__ == "__main__":
    from waveunet_lit.exercises import sdr_tables, report

    raise SystemExit(report(sdr_tables.CHECKS, globals()))
