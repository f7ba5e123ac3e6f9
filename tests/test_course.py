"""The course runner and its table: every week's checks accept the solution and reject the stub.

The parametrization comes from ``waveunet_lit.course.SYLLABUS``, so a notebook added to the
table is tested here without editing this file.
"""

import importlib
import importlib.machinery
import runpy
import subprocess
import types
import sys
from pathlib import Path

import pytest

from waveunet_lit import course
from waveunet_lit.course import SYLLABUS, Row, available, check_week, main

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK_ROWS = [row for row in SYLLABUS if row.notebook]


def _ids(row: Row) -> str:
    return f"week{row.week:02d}-{row.notebook}"


def _require(row: Row) -> None:
    if not available(row):
        pytest.skip(f"waveunet_lit.exercises.{row.exercises} is not merged yet")


@pytest.mark.parametrize("row", NOTEBOOK_ROWS, ids=_ids)
def test_solution_passes_every_check(row):
    _require(row)
    results = check_week(row.week, row.notebook, REPO / "course" / "solutions" / f"{row.notebook}.py")[row.notebook]
    assert results and all(r.passed for r in results), [r for r in results if not r.passed]


@pytest.mark.parametrize("row", NOTEBOOK_ROWS, ids=_ids)
def test_stub_fails_every_check_with_a_hint(row, capsys):
    _require(row)
    stub = REPO / "course" / "exercises" / f"{row.notebook}.py"
    assert main(["check", f"week{row.week:02d}", "--notebook", row.notebook, "--file", str(stub)]) == 1
    out = capsys.readouterr().out
    checks = importlib.import_module(f"waveunet_lit.exercises.{row.exercises}").CHECKS
    for name in checks:  # each check reports, with its hint after the colon: what is left to write
        (line,) = [line for line in out.splitlines() if f"FAIL {name}: " in line]
        assert "still the stub" in line or "still to do" in line, line
    assert "PASS" not in out


@pytest.mark.parametrize("row", NOTEBOOK_ROWS, ids=_ids)
def test_stub_and_solution_define_the_checked_names(row):
    _require(row)
    checks = importlib.import_module(f"waveunet_lit.exercises.{row.exercises}").CHECKS
    for folder in ("exercises", "solutions"):
        text = (REPO / "course" / folder / f"{row.notebook}.py").read_text()
        for name in checks:
            assert f"def {name}(" in text or f"{name} =" in text, f"course/{folder}/{row.notebook}.py lacks {name}"


def test_every_merged_notebook_and_check_module_is_in_the_table():
    notebooks = {p.stem for p in (REPO / "notebooks").glob("*.ipynb")}
    listed = {row.notebook for row in NOTEBOOK_ROWS}
    assert notebooks <= listed, f"add these notebooks to waveunet_lit.course.SYLLABUS: {sorted(notebooks - listed)}"
    for row in NOTEBOOK_ROWS:  # a stub without its checks is a wrong module name in the table
        if (REPO / "course" / "exercises" / f"{row.notebook}.py").is_file():
            assert available(row), f"{row.notebook} has exercises but waveunet_lit.exercises.{row.exercises} does not exist: fix its row"
    modules = {p.stem for p in (REPO / "waveunet_lit" / "exercises").glob("*.py")} - {"__init__"}
    with_checks = {m for m in modules if hasattr(importlib.import_module(f"waveunet_lit.exercises.{m}"), "CHECKS")}
    named = {row.exercises for row in NOTEBOOK_ROWS}
    assert with_checks <= named, f"exercise modules that no row of SYLLABUS names: {sorted(with_checks - named)}"


def test_every_week_has_a_lesson_and_every_project_week_an_assignment():
    for week in course.WEEKS:
        folder = REPO / "course" / f"week{week:02d}"
        assert (folder / "lesson.md").is_file(), folder
        if all(row.notebook is None for row in course.rows_of(week)):
            assert (folder / "assignment.md").is_file(), folder


@pytest.fixture
def toy_week(monkeypatch):
    """Week 30: one notebook checked by a module made here (so these runner tests do not
    depend on which notebooks are merged)."""
    from waveunet_lit.exercises import expect

    def check_double(fn):
        expect(fn(2) == 4, "double(2) should be 4: multiply by two")
        return "double works"

    name = "waveunet_lit.exercises._toy"
    module = types.ModuleType(name)
    module.__spec__ = importlib.machinery.ModuleSpec(name, None)
    module.CHECKS = {"double": check_double}
    monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(course, "SYLLABUS", (*SYLLABUS, Row(30, "30_toy", "_toy")))


def test_runner_passes_a_right_answer_and_fails_a_wrong_one_with_the_hint(toy_week, tmp_path, capsys):
    right, wrong = tmp_path / "right.py", tmp_path / "wrong.py"
    right.write_text("def double(x):\n    return 2 * x\n")
    wrong.write_text("def double(x):\n    return x + 1\n")
    assert main(["check", "week30", "--file", str(right)]) == 0
    assert "PASS double: double works" in capsys.readouterr().out
    assert main(["check", "week30", "--file", str(wrong)]) == 1
    assert "FAIL double: double(2) should be 4: multiply by two" in capsys.readouterr().out


def test_unknown_week_missing_file_and_syntax_error_are_clear(toy_week, tmp_path, capsys):
    assert main(["check", "week13"]) == 2
    assert "there is no week 13; the course has weeks 1 to 30" in capsys.readouterr().err
    assert main(["check", "someday"]) == 2
    assert "not a week: 'someday'" in capsys.readouterr().err
    missing = tmp_path / "nope.py"
    assert main(["check", "30", "--file", str(missing)]) == 2
    assert f"no exercise file at {missing}" in capsys.readouterr().err
    broken = tmp_path / "broken.py"
    broken.write_text("def f(:\n")
    assert main(["check", "30", "--file", str(broken)]) == 2
    assert "broken.py, line 1" in capsys.readouterr().err
    assert main(["check", "1", "--notebook", "06_losses"]) == 2
    assert "notebook '06_losses' is not in week 1" in capsys.readouterr().err
    assert main(["check", "1", "--file", str(missing)]) == 2  # week 1 has two notebooks
    assert "name one with --notebook" in capsys.readouterr().err


def test_project_weeks_and_unmerged_exercises_say_so_and_do_not_pass(monkeypatch, capsys):
    assert main(["check", "week08"]) == 3
    assert "project week" in capsys.readouterr().out
    monkeypatch.setattr(course, "SYLLABUS", (*SYLLABUS, Row(20, "20_not_written", "not_written_yet")))
    assert main(["check", "week20"]) == 3
    out = capsys.readouterr().out
    assert "not available yet" in out and "all checks passed" not in out


EXERCISE_FILES = sorted((REPO / "course" / "exercises").glob("[0-9]*.py"))


def test_every_exercise_file_has_a_solution_and_a_row():
    assert sorted(p.name for p in (REPO / "course" / "solutions").glob("*.py")) == [p.name for p in EXERCISE_FILES]
    assert {p.stem for p in EXERCISE_FILES} <= {row.notebook for row in NOTEBOOK_ROWS}


@pytest.mark.parametrize("exercise", EXERCISE_FILES, ids=lambda p: p.stem)
def test_exercise_stubs_run_as_scripts(exercise, capsys):
    """Run as a script, a stub checks itself: exit status = number of checks not yet passed.
    (The solutions pass the same checks through the course runner above.) Run in this process
    as ``__main__``, which is what ``python FILE`` does; one real subprocess is below."""
    with pytest.raises(SystemExit) as stub:
        runpy.run_path(str(exercise), run_name="__main__")
    out = capsys.readouterr().out
    checks = out.count("not yet")
    assert checks >= 1 and stub.value.code == checks, out
    assert "ok " not in out


def test_an_exercise_file_runs_as_a_real_script():
    exercise = EXERCISE_FILES[0]
    stub = subprocess.run([sys.executable, str(exercise)], capture_output=True, text=True, timeout=300)
    checks = stub.stdout.count("not yet")
    assert checks >= 1 and stub.returncode == checks, stub.stdout + stub.stderr


def test_the_module_runs_as_a_command():
    result = subprocess.run([sys.executable, "-m", "waveunet_lit.course", "list"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    for row in NOTEBOOK_ROWS:
        assert row.notebook in result.stdout
