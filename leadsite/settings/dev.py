"""``make run``: a laptop, DEBUG on, nothing to configure."""

import os

from .base import *  # noqa: F403
from .base import env_bool, env_list

DEBUG = env_bool("DEBUG", True)
SECRET_KEY = SECRET_KEY or "dev-only-insecure-key-do-not-use-in-production"  # noqa: F405
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
# The demo's simulated calls last a tenth of real ones, so statuses visibly move.
LEADS_DIALER["SIMULATED"]["DURATION_SCALE"] = float(os.environ.get("LEADS_SIMULATED_DURATION_SCALE", 0.1))  # noqa: F405
