"""Stopping long-running commands (serve, run_dialer) cleanly on Ctrl-C or SIGTERM."""

import signal


class StopFlag:
    """Becomes true on SIGINT or SIGTERM: the command finishes what it is doing and
    returns, instead of being killed half-way."""

    def __init__(self) -> None:
        self.raised = False
        signal.signal(signal.SIGTERM, self.raise_)
        signal.signal(signal.SIGINT, self.raise_)

    def raise_(self, *_) -> None:
        self.raised = True

    def __bool__(self) -> bool:
        return self.raised
