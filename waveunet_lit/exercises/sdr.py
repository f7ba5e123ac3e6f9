"""Checks for the exercise of ``07_sdr_from_scratch``.

* ``oracle_tests(scorer, references)``: the student's oracle tests of an SDR scorer, which
  raise ``AssertionError`` when the scorer fails one. They must pass a correct scorer
  (:func:`waveunet_lit.lessons.sdr.bsseval_scorer`) and fail each of
  :data:`waveunet_lit.lessons.sdr.BUGGY_SCORERS`, scorers with bugs that peers shipped.
"""

from ..lessons.sdr import BUGGY_SCORERS, bsseval_scorer
from ..lessons.toys import two_sources
from . import ExerciseError, expect

__all__ = ["CHECKS", "check_oracle_tests"]


def _rejects(fn, scorer, references) -> tuple[bool, str]:
    """Run the student's tests on one scorer: (rejected?, the assertion's message)."""
    try:
        fn(scorer, references)
    except ExerciseError:
        raise
    except AssertionError as err:
        return True, str(err)
    except NotImplementedError:
        raise ExerciseError("`oracle_tests` is still the stub: write it, then run the check again") from None
    except Exception as err:  # noqa: BLE001 - the student's code may raise anything
        raise ExerciseError(f"`oracle_tests` raised {type(err).__name__}: {err} (a failed test should raise AssertionError)") from err
    return False, ""


def check_oracle_tests(fn) -> str:
    """``fn(scorer, references)`` must accept the correct scorer and reject every buggy one."""
    for seed in (0, 1):
        references = two_sources(rate=8000, seconds=2.0, seed=seed)[:, None].double()  # (S, C, T)
        rejected, message = _rejects(fn, bsseval_scorer, references)
        expect(not rejected, f"your tests reject a correct scorer (BSSEval v4 median SDR): {message!r}")
        for bug, scorer in BUGGY_SCORERS.items():
            rejected, _ = _rejects(fn, scorer, references)
            expect(rejected, f"your tests accept a buggy scorer that {bug}: which oracle (perfect estimate, "
                   "swapped stems, doubled estimate) would it fail?")
    return f"your oracle tests pass the correct scorer and catch all {len(BUGGY_SCORERS)} buggy ones"


CHECKS = {"oracle_tests": check_oracle_tests}
