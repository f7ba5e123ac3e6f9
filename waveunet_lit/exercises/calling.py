"""Calling a student's function inside a check: a stub or a crash becomes a hint."""

from . import ExerciseError

__all__ = ["attempt"]


def attempt(fn, name: str, *args, **kwargs):
    """``fn(*args, **kwargs)``, with ``NotImplementedError`` (the stub) and any other exception
    turned into an :class:`ExerciseError` that names ``name``: the check cell of a notebook
    then shows a hint instead of a traceback into the student's code.

    Example:
        >>> def stub(x):
        ...     raise NotImplementedError
        >>> try:
        ...     attempt(stub, "double", 2)
        ... except ExerciseError as err:
        ...     print(err)
        `double` is still the stub: write it (see its docstring)
        >>> attempt(lambda x: 2 * x, "double", 2)
        4
    """
    try:
        return fn(*args, **kwargs)
    except ExerciseError:
        raise
    except NotImplementedError:
        raise ExerciseError(f"`{name}` is still the stub: write it (see its docstring)") from None
    except Exception as err:  # noqa: BLE001 - the student's code may raise anything
        raise ExerciseError(f"`{name}` raised {type(err).__name__}: {err}") from err
