"""Entry points of the processes that validate large imports in parallel.

A spawned process imports this module before Django is set up, so it imports
nothing that defines models until start() has run.
"""

import os
import signal
import sys

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def start(parent: int | None = None) -> None:
    _die_with(parent)
    import django

    django.setup()


def _die_with(parent: int | None) -> None:
    """Ask Linux to kill this process when the worker that spawned it dies: a worker
    killed mid-validation (SIGKILL, out of memory) runs no clean-up, and its pool's
    processes (~100-175 MB each) would live on. The worker spawns them from the thread
    that runs its tasks, which lives as long as the worker does. Elsewhere, nothing."""
    if parent is None or not sys.platform.startswith("linux"):
        return
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        return  # not allowed here (a sandbox): the pool's own shutdown still ends them
    if os.getppid() != parent:  # the worker died before the request was made
        os._exit(1)


def parse_rows(mapping, rows, region):
    from .validation import parse_rows as parse

    return parse(mapping, rows, region)
