"""Solutions to the exercises of notebook 01 and week 1."""


def bottleneck_receptive_field(levels: int, down_kernel: int) -> int:
    r = down_kernel  # the bottleneck convolution reads down_kernel decimated samples
    for _ in range(levels):
        r = 2 * r - 1  # undo a decimation: kept samples are 2 apart, the ends stay
        r = r + down_kernel - 1  # the down convolution of that level widens it by kernel - 1
    return r


def input_for_bottleneck_steps(steps: int, levels: int, down_kernel: int) -> int:
    # One step needs its receptive field; each further step starts 2**levels samples later.
    return bottleneck_receptive_field(levels, down_kernel) + (steps - 1) * 2**levels


if __name__ == "__main__":
    from waveunet_lit.exercises import by_the_numbers, report

    raise SystemExit(report(by_the_numbers.CHECKS, globals()))
