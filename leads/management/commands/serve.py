"""Everything ``make run`` needs in one process tree: the web server, the task worker
and the dialer. One Ctrl-C stops them all."""

import subprocess
import sys
import time

from django.core.management.base import BaseCommand

from leads.management.stopping import StopFlag


class Command(BaseCommand):
    help = "Run the web server, the background task worker and the dialer together until Ctrl-C."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", default="8000")

    def handle(self, *args, host: str, port: str, **options):
        manage = [sys.executable, "manage.py"]
        commands = {
            "web": [*manage, "runserver", f"{host}:{port}"],
            "worker": [*manage, "db_worker"],
            "dialer": [*manage, "run_dialer"],
        }
        children = {name: subprocess.Popen(cmd) for name, cmd in commands.items()}
        # Ctrl-C in a terminal reaches every process of the group at once; the
        # children stop by themselves and this loop only has to wait for them.
        stopping = StopFlag()
        try:
            while not stopping:
                time.sleep(0.5)
                for name, child in children.items():
                    if not stopping and child.poll() is not None:
                        self.stderr.write(f"{name} exited with status {child.returncode}; stopping the rest.")
                        stopping.raise_()
        finally:
            for child in children.values():
                if child.poll() is None:
                    child.terminate()
            for child in children.values():
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()
