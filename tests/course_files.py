"""The course's exercise files, loaded as a student's answers are (no tests in here).

Whether every solution passes its checks and every stub fails them with a hint is tested once,
for every notebook of the syllabus, in tests/test_course.py; the tests/test_exercises_*.py
files test each check against plausible wrong answers, built from these solutions.
"""

import runpy
from pathlib import Path

COURSE = Path(__file__).resolve().parents[1] / "course"


def solution(notebook: str) -> dict:
    """The names ``course/solutions/<notebook>.py`` defines (``notebook``: its stem)."""
    return runpy.run_path(str(COURSE / "solutions" / f"{notebook}.py"))
