"""Conventional exit codes for signals: 130 after Ctrl-C, 143 after SIGTERM (128 + N, as
shells report a command a signal killed), with cleanups run on the way out."""

from __future__ import annotations

import contextlib
import signal
import threading


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised as SIGINT raises KeyboardInterrupt, so that every cleanup written
    for an interrupt (finally blocks, the writer's undo) runs for it too."""

    signum = signal.SIGTERM


def _terminate(signum, frame):
    raise Terminated


def exit_code(exc: KeyboardInterrupt) -> int:
    return 128 + int(getattr(exc, "signum", signal.SIGINT))


@contextlib.contextmanager
def terminate_as_interrupt():
    """Turn SIGTERM into `Terminated` while the CLI runs (by default it kills Python
    outright: no cleanup, and no exit code of its own). Left alone if someone else
    handles SIGTERM, or off the main thread, where handlers cannot be set."""
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL):
        yield
        return
    signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
