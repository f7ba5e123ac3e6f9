"""Calling the student's function inside a check, with a hint while it is still the stub."""

from typing import Any, Callable

from . import ExerciseError

__all__ = ["call"]


def call(fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``; a ``NotImplementedError`` (the stub) becomes an
    :class:`ExerciseError` whose message says what to write, so a notebook's check cell shows
    the hint rather than the stub's own message.

    Example:
        >>> def stub(x):
        ...     raise NotImplementedError
        >>> try:
        ...     call(stub, 1)
        ... except ExerciseError as err:
        ...     print(err)
        `stub` is still the stub: replace its `raise NotImplementedError` with your code (its docstring says what to return)
    """
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        name = getattr(fn, "__name__", "your function")
        raise ExerciseError(
            f"`{name}` is still the stub: replace its `raise NotImplementedError` with your code "
            "(its docstring says what to return)"
        ) from None
