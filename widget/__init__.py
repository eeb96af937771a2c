"""Parley: a self-hosted comment server."""
import os
from pathlib import Path

from flask import Flask

from . import database, live, logs, proxies, read_cache, sessions, startup, worker
from .api import bp as api_bp
from .auth import bp as auth_bp
from .cli import bp as cli_bp
from .compression import compress_response
from .config import Config, database_url_from_env, instance_secret_key, redis_url_from_env
from .dashboard import bp as dashboard_bp
from .embed import bp as embed_bp
from .extensions import csrf, db, login_manager
from .feeds import bp as feeds_bp
from .guards import refuse_nul_characters
from .health import bp as health_bp
from .home import bp as home_bp
from .mail import bp as mail_bp
from .web import error_pages, providers, rate_limits, static_files
from .webmention import bp as webmention_bp

PACKAGE = Path(__file__).resolve().parent
# templates/, static/ and migrations/: inside the package when it is installed (pip install .), beside it in a checkout.
FILES = PACKAGE if (PACKAGE / "templates").is_dir() else PACKAGE.parent
BLUEPRINTS = (api_bp, auth_bp, embed_bp, dashboard_bp, feeds_bp, health_bp, home_bp, mail_bp, webmention_bp, cli_bp)


def create_app(overrides=None):
    """Build the app: config, then extensions, then blueprints and error handlers."""
    app = Flask(__name__, static_folder=str(FILES / "static"), template_folder=str(FILES / "templates"),
                instance_path=os.environ.get("PARLEY_INSTANCE_PATH") or None, instance_relative_config=True)
    _configure(app, overrides)
    logs.init_app(app)
    startup.log_effective_settings(app.config)

    db.init_app(app)
    database.init_app(app, str(FILES / "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    providers.init_app(app)
    sessions.init_app(app)
    live.init_app(app)

    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    rate_limits.init_app(app)  # after the blueprints: it puts its limits on their views
    app.before_request(refuse_nul_characters)
    app.after_request(compress_response)
    error_pages.register(app)
    static_files.init_app(app)
    read_cache.init_app(app)
    proxies.init_app(app)
    logs.add_request_ids(app)  # the outermost layer: every answer carries the request's id
    if startup.serving():
        # A command is made ready by itself, and only if it writes (widget/cli.py): `parley --help` and the
        # commands that only read leave the instance folder as they found it.
        database.prepare(app)
    if app.config["BACKGROUND_SENDER"]:
        worker.start_in_background(app)
    return app


def _configure(app, overrides):
    """Defaults, then PARLEY_* and DATABASE_URL from the environment, then the caller's overrides."""
    app.config.from_object(Config)
    app.config.from_prefixed_env("PARLEY")
    if database_url := database_url_from_env():
        app.config["SQLALCHEMY_DATABASE_URI"] = database_url
    if redis_url := redis_url_from_env():
        app.config["REDIS_URL"] = redis_url
    app.config.update(overrides or {})
    app.extensions["parley.secret_key_given"] = bool(app.config.get("SECRET_KEY"))
    app.extensions["parley.env_given"] = "PARLEY_ENV" in os.environ or "ENV" in (overrides or {})
    if not app.config.get("SECRET_KEY"):
        # The one a development server made, if any; making one is for database.prepare.
        app.config["SECRET_KEY"] = instance_secret_key(app.instance_path, make=False)
