"""gunicorn reads this file when started in this folder: `gunicorn` runs Parley for production.
The settings, and the environment variables that change them, are in widget/gunicorn_conf.py."""
from widget.gunicorn_conf import *  # noqa: F403
