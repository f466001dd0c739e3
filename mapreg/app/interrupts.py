"""Ctrl-C and SIGTERM on the command line: always honoured, never half-written output.

:func:`handling` installs one handler for SIGINT and SIGTERM for the duration of a
command. The handler records the signal and raises :class:`KeyboardInterrupt`, so the
command unwinds (its temporary output is removed) and exits 130. Three things make a
signal impossible to lose:

* a library may catch the :class:`KeyboardInterrupt` and carry on (nutpie returns the
  draws so far; an exception raised inside a ctypes callback, e.g. during numba
  compilation, is printed as "Exception ignored" and dropped). The signal stays
  recorded: a watchdog thread re-delivers it to the main thread every half second
  until the command unwinds, :func:`check` raises it again at each checkpoint (every
  progress message, each figure, before anything is renamed into place) and the
  command exits 130 whatever exception it unwinds with;
* the few operations that must not be cut in half (renaming the finished output into
  place, removing a temporary folder) run :func:`shielded`: a signal arriving there is
  recorded and raised when they are done;
* the handler only acts in the process that installed it (not in forked children).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time

#: The signals handled like Ctrl-C.
SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: Seconds between re-deliveries of a signal that was swallowed.
REDELIVER_S = 0.5


class _State:
    def __init__(self) -> None:
        self.active = False
        self.pid = -1
        self.received: int | None = None
        self.unwinding = False
        self.shield = 0


_state = _State()


def interrupted() -> bool:
    """Whether SIGINT or SIGTERM arrived while :func:`handling` was active."""
    return _state.received is not None


def check() -> None:
    """Raise :class:`KeyboardInterrupt` if a signal arrived (a checkpoint)."""
    if _state.received is not None and not _state.shield:
        _state.unwinding = True
        raise KeyboardInterrupt


def unwinding() -> None:
    """The command is unwinding after an interruption: stop re-delivering the signal."""
    _state.unwinding = True


@contextlib.contextmanager
def shielded(raise_after: bool = True):
    """Defer signals during the block; raise one that arrived on leaving (if asked)."""
    _state.shield += 1
    try:
        yield
    finally:
        _state.shield -= 1
    if raise_after:
        check()


def _handler(signum, frame) -> None:
    if not _state.active or os.getpid() != _state.pid:
        raise KeyboardInterrupt
    first = _state.received is None
    if first:
        _state.received = signum
        threading.Thread(target=_redeliver, args=(signum,), daemon=True,
                         name="mapreg-interrupt").start()
    if _state.shield or (_state.unwinding and not first):
        return
    raise KeyboardInterrupt


def _redeliver(signum: int) -> None:
    """Deliver the signal to the main thread again until the command unwinds."""
    import _thread

    while True:
        time.sleep(REDELIVER_S)
        if not _state.active or _state.unwinding:
            return
        if not _state.shield:
            _thread.interrupt_main(signum)


def _unraisable(previous):
    def hook(unraisable):
        # A KeyboardInterrupt raised inside a ctypes callback cannot propagate; the
        # signal is recorded and re-delivered, so the "Exception ignored" report is noise.
        if _state.active and issubclass(unraisable.exc_type, KeyboardInterrupt):
            return
        previous(unraisable)

    return hook


@contextlib.contextmanager
def handling():
    """Handle SIGINT and SIGTERM like Ctrl-C for the duration of the block.

    Outside the main thread (where signal handlers cannot be set) it does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in SIGNALS}
    previous_hook = sys.unraisablehook
    _state.__init__()
    _state.active, _state.pid = True, os.getpid()
    for sig in SIGNALS:
        signal.signal(sig, _handler)
    sys.unraisablehook = _unraisable(previous_hook)
    try:
        yield
    finally:
        _state.unwinding = True
        _state.active = False
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        sys.unraisablehook = previous_hook
