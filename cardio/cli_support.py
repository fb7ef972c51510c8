"""What every citycard command line shares: errors become sentences, never tracebacks."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from cardio.errors import CitycardError

F = TypeVar("F", bound=Callable[..., Any])

EXIT_FAILURE = 2  # a command that could not do its job (1 is left for "not valid")


def friendly_errors(func: F) -> F:
    """Turn citycard errors and OS errors into one line on stderr and exit status 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except CitycardError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(EXIT_FAILURE)
        except OSError as exc:
            where = f" ({exc.filename})" if exc.filename else ""
            click.echo(
                f"Error: {exc.strerror or exc}{where}; check the path and permissions.", err=True
            )
            sys.exit(EXIT_FAILURE)

    return wrapper  # type: ignore[return-value]


def echo_json(obj: Any) -> None:
    click.echo(json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=True))
