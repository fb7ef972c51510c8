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


# A Ctrl-C that arrives while a finaliser runs: Python raises KeyboardInterrupt inside it,
# prints "Exception ignored in ..." and goes on, as `publish --watch` went on after its Ctrl-C
# in a CI run (there the interrupt landed in compiled code, which cannot pass it on either).
_INTERRUPTED_IN_A_FINALISER = textwrap.dedent(
    """
    import os, signal, sys, threading, time

    # Python raises KeyboardInterrupt on SIGINT only when it did not inherit SIGINT ignored; a
    # shell's background job (make test under nohup ... &) inherits it ignored. Set each case.
    if sys.argv[1] == "plain":
        signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal
    else:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # as in a background job: still stops

    class Finaliser:
        def __del__(self):
            os.kill(os.getpid(), signal.{sig})
            time.sleep(0.2)  # the interrupt is raised here, if it is raised at all

    def interrupted_while_finalising():
        Finaliser()  # dropped at once: __del__ runs
        print("ran on", flush=True)

    if sys.argv[1] == "plain":
        interrupted_while_finalising()
    elif sys.argv[1] == "older-thread":
        from cardio.cli_support import stop_signals

        older = threading.Thread(target=time.sleep, args=(3,), daemon=True)
        older.start()  # before the block: it does not hold the signals back
        with stop_signals() as stopped:
            signal.pthread_kill(older.ident, signal.{sig})  # the kernel's pick, made certain
            # heard at the end of a wait, so the commands wait in short slices, as here
            heard, deadline = False, time.monotonic() + 5
            while not heard and time.monotonic() < deadline:
                heard = stopped(0.2)
            print("stopped" if heard else "lost", flush=True)
    else:
        from cardio.cli_support import stop_signals

        with stop_signals() as stopped:
            # a thread started in the block holds the signals back too
            worker = threading.Thread(target=interrupted_while_finalising)
            worker.start()
            worker.join()
            print("stopped" if stopped(5) else "lost", flush=True)
        print("mask", sorted(signal.pthread_sigmask(signal.SIG_BLOCK, [])), flush=True)
    """
)


def test_a_ctrl_c_in_a_finaliser_is_lost_to_keyboardinterrupt() -> None:
    """The hazard stop_signals() exists for, shown: the interrupt is printed and dropped."""
    script = _INTERRUPTED_IN_A_FINALISER.format(sig="SIGINT")
    result = subprocess.run([sys.executable, "-c", script, "plain"], capture_output=True, text=True, timeout=60)
    assert "Exception ignored in" in result.stderr and "KeyboardInterrupt" in result.stderr
    assert result.stdout == "ran on\n" and result.returncode == 0


def test_stop_signals_holds_ctrl_c_and_sigterm_until_asked() -> None:
    for sig in ("SIGINT", "SIGTERM"):
        script = _INTERRUPTED_IN_A_FINALISER.format(sig=sig)
        result = subprocess.run(
            [sys.executable, "-c", script, "held"], capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0 and result.stderr == "", (sig, result.stderr)
        # the mask is given back when the block ends
        assert result.stdout == "ran on\nstopped\nmask []\n", (sig, result.stdout)


def test_stop_signals_hears_a_signal_handed_to_an_older_thread() -> None:
    for sig in ("SIGINT", "SIGTERM"):
        script = _INTERRUPTED_IN_A_FINALISER.format(sig=sig)
        result = subprocess.run(
            [sys.executable, "-c", script, "older-thread"], capture_output=True, text=True, timeout=60
        )
        assert (result.returncode, result.stdout, result.stderr) == (0, "stopped\n", ""), sig
