"""The `parley` command: the app's Flask CLI under its own name (parley run, parley site add, parley check, ...)."""
from flask.cli import FlaskGroup

from . import create_app


def main():
    FlaskGroup(name="parley", create_app=create_app,
               help="Parley, a self-hosted comment server. The same commands as `flask --app app ...`.").main()
