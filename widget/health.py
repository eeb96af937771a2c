"""/healthz: is the server up and its database reachable."""
from flask import Blueprint, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from .doctor import SERVER_HEADER, server_fingerprint
from .extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    # Names this install (a keyed hash, see doctor.py), so that `parley check` knows PARLEY_PUBLIC_URL reaches it.
    headers = {SERVER_HEADER: server_fingerprint(current_app.config["SECRET_KEY"])}
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        current_app.logger.error("health check: the database is unreachable", exc_info=True)
        return jsonify(status="error", database="unreachable"), 503, headers
    return jsonify(status="ok", database="ok"), headers
