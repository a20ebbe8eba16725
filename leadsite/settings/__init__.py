"""Settings modules: ``base`` holds everything, the others only what differs.

- ``dev``: what ``make run`` uses (DEBUG on, SQLite unless DATABASE_URL says otherwise).
- ``test``: what pytest uses.
- ``production``: DEBUG off, secrets and hosts required from the environment, and
  passes ``manage.py check --deploy``.
"""
