"""Automatic checks for the exercises of the notebooks and the course.

One module per notebook topic (``convolution.py`` for ``02_convolution_by_hand`` and so on).
Each module defines ``CHECKS``: a dict from the name of the function (or value) the student
writes to a check ``check(answer) -> str``, which returns a short message when the answer is
right and raises :class:`ExerciseError` with a hint when it is not. A notebook calls the check
directly (``check_conv1d_loop(conv1d_loop)``); the course runs every check of a file with
:func:`run_checks`. Tests run each check against the solution in ``course/solutions/`` (must
pass) and against plausible wrong answers (must fail).

Example:
    >>> def check_double(fn):
    ...     expect(fn(2) == 4, "double(2) should be 4")
    ...     return "double works"
    >>> [r.passed for r in run_checks({"double": check_double}, {"double": lambda x: 2 * x})]
    [True]
    >>> run_checks({"double": check_double}, {"double": lambda x: x})[0].message
    'double(2) should be 4'
"""

from dataclasses import dataclass
from typing import Any, Callable, Mapping

__all__ = ["ExerciseError", "Result", "call", "expect", "report", "run_checks"]


class ExerciseError(AssertionError):
    """A wrong answer; the message is the hint shown to the student."""

    def _render_traceback_(self) -> list[str]:
        # IPython shows this instead of a full traceback: in a notebook the hint is the whole
        # message, and the stored output holds no frames of the package (nor its file paths).
        return [f"ExerciseError: {self}"]


def expect(condition: bool, hint: str) -> None:
    """Raise :class:`ExerciseError` with ``hint`` unless ``condition`` holds."""
    if not condition:
        raise ExerciseError(hint)


def call(fn: Callable, *args, **kwargs):
    """``fn(*args, **kwargs)``, the student's function called by a check.

    The stub's ``NotImplementedError`` becomes a hint, and any other exception an
    :class:`ExerciseError` naming the function: the check cell of a notebook then shows one
    line instead of a traceback into the student's code.

    Example:
        >>> def double(x):
        ...     raise NotImplementedError
        >>> call(double, 1)
        Traceback (most recent call last):
        ...
        waveunet_lit.exercises.ExerciseError: `double` is still the stub: write it, then run the check again
        >>> call(lambda x: [][x], 1)
        Traceback (most recent call last):
        ...
        waveunet_lit.exercises.ExerciseError: `<lambda>` raised IndexError: list index out of range
        >>> call(lambda x: 2 * x, 2)
        4
    """
    name = getattr(fn, "__name__", "your function")
    try:
        return fn(*args, **kwargs)
    except ExerciseError:
        raise
    except NotImplementedError:
        raise ExerciseError(f"`{name}` is still the stub: write it, then run the check again") from None
    except Exception as err:  # noqa: BLE001 - the student's code may raise anything
        raise ExerciseError(f"`{name}` raised {type(err).__name__}: {err}") from err


@dataclass(frozen=True)
class Result:
    """What one check said about one answer."""

    name: str
    passed: bool
    message: str


def run_checks(checks: Mapping[str, Callable[[Any], str]], answers: Mapping[str, Any]) -> list[Result]:
    """Run every check on the student's answer of the same name.

    Args:
        checks: name -> check, as in a module's ``CHECKS``.
        answers: name -> the student's answer (e.g. ``vars(module)`` of an exercise file).

    Returns:
        One :class:`Result` per check, in the order of ``checks``. A missing answer, a wrong
        one, and an answer that raises (``NotImplementedError`` from a stub, say) all fail.
    """
    results = []
    for name, check in checks.items():
        if name not in answers or answers[name] is None:
            results.append(Result(name, False, f"`{name}` is not defined yet"))
            continue
        try:
            results.append(Result(name, True, check(answers[name])))
        except ExerciseError as err:
            results.append(Result(name, False, str(err)))
        except NotImplementedError:
            results.append(Result(name, False, f"`{name}` is still the stub: write it"))
        except Exception as err:  # noqa: BLE001 - the student's code may raise anything
            results.append(Result(name, False, f"`{name}` raised {type(err).__name__}: {err}"))
    return results


def report(checks: Mapping[str, Callable[[Any], str]], answers: Mapping[str, Any]) -> int:
    """Print one line per check (``ok`` or ``not yet`` with the hint); return the number failed.

    What ``python course/exercises/<notebook>.py`` runs, so a student checks a whole file.

    Example:
        >>> report({"double": lambda fn: "ok" if fn(2) == 4 else expect(False, "no")}, {"double": abs})
        not yet  double: no
        1
    """
    failed = 0
    for r in run_checks(checks, answers):
        print(f"{'ok     ' if r.passed else 'not yet'}  {r.name}: {r.message}")
        failed += not r.passed
    return failed
