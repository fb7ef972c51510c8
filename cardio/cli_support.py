"""What every citycard command line shares: errors become sentences, never tracebacks."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import sys
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import click

from cardio.errors import CitycardError

F = TypeVar("F", bound=Callable[..., Any])

EXIT_FAILURE = 2  # a command that could not do its job (1 is left for "not valid")

EXIT_BROKEN_PIPE = 128 + signal.SIGPIPE  # what a shell reports for `yes | head -1`'s yes


def friendly_errors(func: F) -> F:
    """Turn citycard errors and OS errors into one line on stderr and exit status 2; a closed
    output pipe ends the command quietly, as it ends `yes`."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except CitycardError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(EXIT_FAILURE)
        except BrokenPipeError:
            # Whoever read our output has gone (`| head -1`, a pager closed): not a fault of a
            # path or a permission, and nothing more to say. stdout goes to /dev/null so that
            # the interpreter's last flush at exit cannot raise again.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(EXIT_BROKEN_PIPE)
        except OSError as exc:
            where = f" ({exc.filename})" if exc.filename else ""
            click.echo(
                f"Error: {exc.strerror or exc}{where}; check the path and permissions.", err=True
            )
            sys.exit(EXIT_FAILURE)

    return wrapper  # type: ignore[return-value]


def echo_json(obj: Any) -> None:
    click.echo(json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=True))


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)  # Ctrl-C, and what systemd sends on stop


@contextlib.contextmanager
def stop_signals() -> Iterator[Callable[[float], bool]]:
    """Hold SIGINT and SIGTERM back in the calling (main) thread and in every thread it starts
    inside the block; yields `stopped(timeout)`, True once one of them has arrived.

    A long-running command waits for its stop signal this way instead of catching
    KeyboardInterrupt. Python raises KeyboardInterrupt wherever the main thread happens to be,
    and where that is a finaliser or compiled code that cannot pass an exception on, it is
    printed ("Exception ignored in ...") and lost: `publish --watch` then ran on after its
    Ctrl-C (seen in CI). A held signal stays pending until `sigtimedwait` takes it, so none is
    lost, and SIGTERM gets the same orderly stop as Ctrl-C. A thread started before the block
    does not hold them back and may be the one the kernel hands a signal to: for that, the
    block's own handler notes the signal instead of raising, and `stopped` sees the note when
    its wait ends (the wait is not woken), which is why callers wait in short slices.
    The handler goes in even where SIGINT was inherited ignored (a shell's background job):
    these commands say "Ctrl-C to stop", and supervisors and tests send SIGINT to stop them.
    """
    noted: list[int] = []

    def note(signum: int, _frame: object) -> None:
        noted.append(signum)  # no lock taken: this may run inside any code of the main thread

    handlers = {sig: signal.signal(sig, note) for sig in STOP_SIGNALS}
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)

    def stopped(timeout: float) -> bool:
        if noted:
            return True
        return signal.sigtimedwait(STOP_SIGNALS, timeout) is not None or bool(noted)

    try:
        yield stopped
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # one still pending goes to `note`
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
