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

And when the command cannot unwind in time (the main thread waits on compiled code
that does not return, e.g. sampler threads it must join), the watchdog ends it after
:data:`GRACE_S` seconds: it waits for any shielded operation to finish, removes the
temporary output registered with :func:`temporary`, and exits with status 130. Only
a process that *is* the command does that (``handling(hard_exit=True)``), never one
that calls :func:`mapreg.app.cli.main` as a function.
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
#: Seconds after a signal before a command that has not unwound is ended.
GRACE_S = 1.2
MESSAGE = "mapreg: interrupted; no partial output was left behind"


class _State:
    def __init__(self) -> None:
        self.active = False
        self.pid = -1
        self.received: int | None = None
        self.unwinding = False
        self.shield = 0
        self.hard_exit = False
        self.reported = False
        self.temporaries: list = []
        # held by the main thread while shielded: the watchdog never cuts those short
        self.lock = threading.RLock()


_state = _State()


def interrupted() -> bool:
    """Whether SIGINT or SIGTERM arrived while :func:`handling` was active."""
    return _state.active and _state.received is not None


def check() -> None:
    """Raise :class:`KeyboardInterrupt` if a signal arrived (a checkpoint)."""
    if _state.active and _state.received is not None and not _state.shield:
        _state.unwinding = True
        raise KeyboardInterrupt


def report() -> None:
    """Print the one line saying the command was interrupted (once)."""
    with _state.lock:
        if not _state.reported:
            _state.reported = True
            print(MESSAGE, file=sys.stderr, flush=True)


def unwinding() -> None:
    """The command is unwinding after an interruption: stop re-delivering the signal."""
    _state.unwinding = True


@contextlib.contextmanager
def shielded(raise_after: bool = True):
    """Defer signals during the block; raise one that arrived on leaving (if asked)."""
    with _state.lock:
        _state.shield += 1
        try:
            yield
        finally:
            _state.shield -= 1
    if raise_after:
        check()


@contextlib.contextmanager
def temporary(path):
    """Register ``path`` (a temporary file or folder) for removal on a forced exit."""
    _state.temporaries.append(path)
    try:
        yield path
    finally:
        with contextlib.suppress(ValueError):
            _state.temporaries.remove(path)


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
    """Deliver the signal to the main thread again until the command unwinds, or end it."""
    import _thread

    start = last = time.monotonic()
    while True:
        time.sleep(0.05)
        if not _state.active:
            return
        now = time.monotonic()
        if _state.hard_exit and now - start >= GRACE_S:
            _force_exit()
        if now - last >= REDELIVER_S:
            last = now
            if not _state.unwinding and not _state.shield:
                _thread.interrupt_main(signum)


def _force_exit() -> None:
    """Remove the temporary output and exit 130 (the main thread cannot unwind in time)."""
    import shutil

    with _state.lock:  # after any shielded operation of the main thread
        if not _state.active:
            return
        for path in list(_state.temporaries):
            for _ in range(3):  # the main thread may still be writing into it
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    with contextlib.suppress(OSError):
                        os.unlink(path)
                if not os.path.lexists(path):
                    break
        with contextlib.suppress(Exception):
            sys.stdout.flush()
        with contextlib.suppress(Exception):
            report()
        os._exit(130)


def _unraisable(previous):
    def hook(unraisable):
        # A KeyboardInterrupt raised inside a ctypes callback cannot propagate; the
        # signal is recorded and re-delivered, so the "Exception ignored" report is noise.
        if _state.active and issubclass(unraisable.exc_type, KeyboardInterrupt):
            return
        previous(unraisable)

    return hook


@contextlib.contextmanager
def handling(hard_exit: bool = False):
    """Handle SIGINT and SIGTERM like Ctrl-C for the duration of the block.

    ``hard_exit``: this process is the command, and may be ended :data:`GRACE_S`
    seconds after a signal if it has not unwound by then. Outside the main thread
    (where signal handlers cannot be set) it does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in SIGNALS}
    previous_hook = sys.unraisablehook
    _state.__init__()
    _state.active, _state.pid, _state.hard_exit = True, os.getpid(), hard_exit
    for sig in SIGNALS:
        signal.signal(sig, _handler)
    sys.unraisablehook = _unraisable(previous_hook)
    try:
        yield
    finally:
        _state.unwinding = True
        with _state.lock:
            _state.active = False
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        sys.unraisablehook = previous_hook
