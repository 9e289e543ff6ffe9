"""Run a command as an admin does, in a terminal of a fixed size (a pseudo-terminal): what it showed, with
the colours and cursor moves taken out, and how it exited; optionally Ctrl-C once it showed something."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import termios
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Shown", "in_terminal"]

_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r")


@dataclass(frozen=True)
class Shown:
    #: Everything written to the terminal, every frame of a live display included, escapes removed.
    text: str
    returncode: int


def in_terminal(
    command: list[str],
    env: dict[str, str],
    *,
    columns: int = 80,
    interrupt_when: Callable[[str], bool] | None = None,
    timeout: float = 120,
) -> Shown:
    """Run `command` with stdin, stdout and stderr on a `columns`-wide terminal until it exits; with
    `interrupt_when`, send SIGINT (Ctrl-C) the first time it is true of what was shown so far."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    process = subprocess.Popen(
        command,
        env={**env, "COLUMNS": str(columns), "LINES": "40", "TERM": "xterm-256color"},
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        start_new_session=True,
        # Ctrl-C as a shell's foreground job gets it: a runner started in the background (`nohup … &`)
        # ignores SIGINT, and a child inherits that, so Python would never raise KeyboardInterrupt.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    os.close(terminal)
    shown = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while True:
            assert time.monotonic() < deadline, f"{command} did not end:\n{_clean(shown)}"
            ready, _, _ = select.select([controller], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(controller, 65536)
                except OSError:  # EIO: the terminal's other end closed, the process is gone
                    chunk = b""
                if not chunk:
                    break
                shown.extend(chunk)
            if interrupt_when is not None and interrupt_when(_clean(shown)):
                process.send_signal(signal.SIGINT)
                interrupt_when = None
        return Shown(_clean(shown), process.wait(timeout=max(deadline - time.monotonic(), 1)))
    finally:
        os.close(controller)
        if process.poll() is None:
            process.kill()
            process.wait()


def _clean(data: bytes | bytearray) -> str:
    return _ESCAPES.sub("", data.decode("utf-8", errors="replace"))
