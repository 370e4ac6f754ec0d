"""A namespace's lifeline: `python3 lifeline.py FD PID START_TIME` (standard library only).

Waits until the pipe FD reaches end of file, which happens when the process that started the lab
exits, even by SIGKILL (only it holds the write end); then kills PID, the namespace's init, if it is
still the process that started at START_TIME. When a PID namespace's init dies, the kernel kills
everything else inside. A lab stopped normally closes the pipe too: the init is gone, nothing to do.
"""

from __future__ import annotations

import os
import signal
import sys


def _start_time(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return None
    return int(text[text.rindex(")") + 2 :].split()[19])


def main(argv: list[str]) -> None:
    fd, pid, start_time = (int(arg) for arg in argv[1:4])
    while os.read(fd, 4096):
        pass
    if _start_time(pid) == start_time:
        os.kill(pid, signal.SIGKILL)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C to the starter's terminal is the starter's business
    main(sys.argv)
