"""The embeddable widget: the loader /embed.js, the iframe page /embed/thread, its static files, /demo."""
from flask import Blueprint

bp = Blueprint("embed", __name__)

from . import demo, views  # noqa: E402,F401  (routes register themselves on bp)
