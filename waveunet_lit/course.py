"""The course's table of weeks, and the runner that checks a student's exercise file.

    python -m waveunet_lit.course list
    python -m waveunet_lit.course check week03
    python -m waveunet_lit.course check week01 --notebook 02_convolution_by_hand --file my_answers.py

:data:`SYLLABUS` is the single table of the course: one row per notebook (its week and the
module of ``waveunet_lit.exercises`` that checks it) and one per project week. The runner, the
tests and the book's table of contents all read it, so adding a notebook to the course and the
book is one line here. A notebook's exercises are *available* when its checking module exists;
until it is merged the runner says so instead of pretending.

The student's file defaults to ``course/exercises/<notebook>.py`` (found from the current folder,
else from the checkout this package runs from); its top-level names are the answers, so the
solution in ``course/solutions/<notebook>.py`` passes and the starter stub fails with the hints.

Example:
    >>> [row.notebook for row in rows_of(8)]  # a project week has no notebook
    [None]
    >>> week_number("week03"), week_number("3")
    (3, 3)
"""

import argparse
import importlib
import importlib.util
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from .exercises import Result, run_checks

__all__ = ["Row", "SYLLABUS", "WEEKS", "rows_of", "week_number", "available", "load_answers", "check_week", "main"]


@dataclass(frozen=True)
class Row:
    """One line of the syllabus: a notebook of a week, or a project week (``notebook=None``)."""

    week: int
    notebook: str | None  # notebook stem in notebooks/, e.g. "02_convolution_by_hand"
    exercises: str | None  # module in waveunet_lit.exercises that checks it, e.g. "convolution"


#: The one table: adding a notebook to the course and the book is one line here.
SYLLABUS: tuple[Row, ...] = (
    Row(1, "01_wave_u_net_by_the_numbers", "by_the_numbers"),
    Row(1, "02_convolution_by_hand", "convolution"),
    Row(2, "03_down_and_up_sampling", "sampling"),
    Row(2, "04_receptive_field", "receptive_field"),
    Row(3, "05_spectrograms_and_masks", "spectrograms"),
    Row(4, "06_losses", "losses"),
    Row(5, "07_sdr_from_scratch", "sdr"),
    Row(5, "08_reading_sdr_tables", "sdr_tables"),
    Row(6, "09_data_and_augmentation", "data"),
    Row(7, "10_training_with_lightning", "training"),
    Row(8, None, None),  # project 1: train a recipe, evaluate it, write up the SDR table
    Row(9, "11_separating_a_song", "separation"),
    Row(10, "12_the_wave_u_net_family", "family"),
    Row(11, "13_spectrogram_models_and_nmf", "nmf"),
    Row(12, None, None),  # final project: compare two families
)

#: The week numbers, in order.
WEEKS: tuple[int, ...] = tuple(sorted({row.week for row in SYLLABUS}))

#: The checkout this package runs from (holds course/ and notebooks/ in a clone).
CHECKOUT = Path(__file__).resolve().parents[1]


def week_number(name: str) -> int:
    """``"week03"``, ``"week3"`` or ``"3"`` -> 3; raises ``ValueError`` for anything else."""
    match = re.fullmatch(r"(?:week)?0*(\d+)", name.strip().lower())
    if not match:
        raise ValueError(f"not a week: {name!r}; expected week01 .. week{WEEKS[-1]:02d}")
    return int(match.group(1))


def rows_of(week: int) -> list[Row]:
    """The rows of one week; raises ``ValueError`` naming the weeks that exist."""
    rows = [row for row in SYLLABUS if row.week == week]
    if not rows:
        weeks = sorted({row.week for row in SYLLABUS})
        raise ValueError(f"there is no week {week}; the course has weeks {weeks[0]} to {weeks[-1]}")
    return rows


def available(row: Row) -> bool:
    """Whether the checks of a row exist in this version of the package."""
    return row.exercises is not None and importlib.util.find_spec(f"waveunet_lit.exercises.{row.exercises}") is not None


def course_file(relative: str) -> Path:
    """``course/<relative>`` below the current folder if it is there, else in the checkout."""
    here = Path("course") / relative
    return here if here.exists() else CHECKOUT / "course" / relative


def load_answers(path: str | Path) -> dict:
    """Run a student's Python file and return its top-level names (the answers).

    Raises:
        FileNotFoundError: the file does not exist.
        SyntaxError: the file is not valid Python (the message names the line).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no exercise file at {path}")
    spec = importlib.util.spec_from_file_location(f"_course_answers_{path.stem}", path)
    module: ModuleType = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return vars(module)


def check_week(week: int, notebook: str | None = None, file: str | Path | None = None) -> dict[str, list[Result] | str]:
    """Check a week's exercise files.

    Args:
        week: week number.
        notebook: only this notebook of the week (needed with ``file`` when a week has two).
        file: the student's file (default ``course/exercises/<notebook>.py``).

    Returns:
        notebook -> its :class:`~waveunet_lit.exercises.Result` list, or a sentence saying why
        nothing was checked (project week, exercises not merged yet).

    Raises:
        ValueError: no such week, notebook not in that week, or ``file`` given for two notebooks.
        FileNotFoundError: the exercise file is missing.
    """
    rows = rows_of(week)
    if notebook is not None:
        rows = [row for row in rows if row.notebook == notebook]
        if not rows:
            names = ", ".join(r.notebook for r in rows_of(week) if r.notebook) or "none"
            raise ValueError(f"notebook {notebook!r} is not in week {week}; its notebooks: {names}")
    checked = [row for row in rows if row.notebook is not None]
    if file is not None and len(checked) > 1:
        raise ValueError(f"week {week} has {len(checked)} notebooks; name one with --notebook to use --file")
    if not checked:
        return {f"week {week}": f"week {week} is a project week: no automatic checks; see course/week{week:02d}/assignment.md"}
    report: dict[str, list[Result] | str] = {}
    for row in checked:
        if not available(row):
            report[row.notebook] = (
                f"the exercises of {row.notebook} are not available yet "
                f"(waveunet_lit.exercises.{row.exercises} is not in this version of the package)"
            )
            continue
        checks = importlib.import_module(f"waveunet_lit.exercises.{row.exercises}").CHECKS
        report[row.notebook] = run_checks(checks, load_answers(file or course_file(f"exercises/{row.notebook}.py")))
    return report


def _list() -> int:
    print(f"{'week':<6} {'notebook':<34} {'checks':<40} status")
    for row in SYLLABUS:
        if row.notebook is None:
            print(f"week{row.week:02d} {'(project week)':<34} {'-':<40} assignment.md")
            continue
        status = "available" if available(row) else "not available yet"
        print(f"week{row.week:02d} {row.notebook:<34} {'waveunet_lit.exercises.' + row.exercises:<40} {status}")
    return 0


def _check(week: str, notebook: str | None, file: str | None) -> int:
    try:
        report = check_week(week_number(week), notebook, file)
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except SyntaxError as err:
        print(f"error: {err.filename}, line {err.lineno}: {err.msg}", file=sys.stderr)
        return 2
    failed = unchecked = 0
    for name, results in report.items():
        print(f"== {name}")
        if isinstance(results, str):
            print(f"   {results}")
            unchecked += 1
            continue
        for r in results:
            print(f"   {'PASS' if r.passed else 'FAIL'} {r.name}: {r.message}")
            failed += not r.passed
    if failed:
        print(f"{failed} check(s) failed: read the hints above, fix the file, run again")
        return 1
    if unchecked == len(report):
        return 3  # nothing was checked: not a pass
    print("all checks passed")
    return 0


def main(argv: list[str] | None = None) -> int:
    """The ``python -m waveunet_lit.course`` command; returns the exit status.

    Exit status: 0 all checks passed, 1 a check failed, 2 bad week/notebook/file, 3 nothing to
    check (project week, or exercises not available yet).
    """
    parser = argparse.ArgumentParser(prog="python -m waveunet_lit.course", description="The course's weeks and exercise checks.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="every week with its notebooks and whether their checks are available")
    check = sub.add_parser("check", help="run the checks of a week on the student's exercise file(s)")
    check.add_argument("week", help="week01 .. week12 (or just the number)")
    check.add_argument("--notebook", default=None, help="only this notebook of the week (e.g. 02_convolution_by_hand)")
    check.add_argument("--file", default=None, help="the student's file (default: course/exercises/<notebook>.py)")
    args = parser.parse_args(argv)
    if args.command == "list":
        return _list()
    return _check(args.week, args.notebook, args.file)


if __name__ == "__main__":
    sys.exit(main())
