"""Exercise of notebook 13 (spectrogram models and NMF): one multiplicative NMF update.

The notebook runs the check: ``check_kl_activation_update(kl_activation_update)``
(``waveunet_lit.exercises.nmf``).
"""


def kl_activation_update(V, W, H):
    """One multiplicative update of the activations ``H`` for ``V ~ W H`` (KL divergence).

    Args:
        V: ``(F, M)`` magnitude spectrogram, non-negative.
        W: ``(F, K)`` dictionary (fixed), non-negative.
        H: ``(K, M)`` activations, non-negative.

    Returns:
        The new ``(K, M)`` activations ``H * (W^T (V / (W H))) / (W^T 1)`` (Lee & Seung, 2000;
        add a tiny epsilon, 1e-10, to ``W H`` and to the denominator).
    """
    raise NotImplementedError("one line: H times a ratio")


if __name__ == "__main__":
    from waveunet_lit.exercises import nmf, report

    raise SystemExit(report(nmf.CHECKS, globals()))
