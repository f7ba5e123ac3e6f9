"""Solution of the exercise of notebook 13: the Lee & Seung KL update of the activations."""

EPS = 1e-10


def kl_activation_update(V, W, H):
    ratio = V / (W @ H + EPS)  # (F, M)
    return H * (W.T @ ratio) / (W.sum(0)[:, None] + EPS)  # W^T 1 is the column sums of W


if __name__ == "__main__":
    from waveunet_lit.exercises import nmf, report

    raise SystemExit(report(nmf.CHECKS, globals()))
