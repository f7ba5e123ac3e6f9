"""Solution of the exercise of notebook 12.

* depth_or_kernel: A. A level doubles the span of everything below it, so six levels of kernel 5
  (829 samples) see more than four levels of kernel 15 (515).
* context: same. 'Valid' convolutions and zero padding change how long the output is, not which
  input samples one output sample depends on (1043 both).
* strided: A. Four levels of factor 4 (4 ** 4 = 256) beat six levels of factor 2 (2 ** 6 = 64):
  1620 samples against 446.
"""

predictions = {"depth_or_kernel": "A", "context": "same", "strided": "A"}


if __name__ == "__main__":
    from waveunet_lit.exercises import family, report

    raise SystemExit(report(family.CHECKS, globals()))
