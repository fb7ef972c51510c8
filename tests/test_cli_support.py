"""What every command line shares (cardio.cli_support), run as a real process."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from cardio.cli_support import EXIT_BROKEN_PIPE

# A command that writes more than a pipe holds, as `citycard-reader verify` writes its lines.
_CHATTY = textwrap.dedent(
    """
    import click
    from cardio.cli_support import friendly_errors

    @click.command()
    @friendly_errors
    def main() -> None:
        for i in range(100_000):
            click.echo(f"line {i}: the verdict and its claims")

    main()
    """
)


def test_a_reader_that_goes_away_ends_the_command_quietly() -> None:
    """`citycard-reader verify … | head -1` printed "Error: Broken pipe; check the path and
    permissions.": a closed pipe is not a path problem. Now: no message, no traceback, and the
    status a shell gives a command ended by SIGPIPE."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHATTY], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline().startswith(b"line 0:")
    proc.stdout.close()  # as head does after its one line
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == EXIT_BROKEN_PIPE == 141
    assert err == b"", err.decode(errors="replace")
