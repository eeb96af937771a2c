"""Checks every request passes before it reaches a view."""
from flask import abort, request
from werkzeug.exceptions import RequestEntityTooLarge

FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}


def _has_nul(pairs):
    return any("\x00" in key or "\x00" in value for key, value in pairs)


def refuse_nul_characters():
    """Refuse a NUL character anywhere in the path, the query string or a submitted form.

    PostgreSQL can neither store nor compare text that holds one, so a NUL that reached a query
    was a 500. No legitimate page, comment or name contains one: refuse it here, once, for every
    surface. (JSON bodies are checked field by field, where NUL is one of the controls refused.)
    """
    if "\x00" in request.path or _has_nul(request.args.items(multi=True)):
        abort(400, description="The address contains a NUL character, which is never valid.")
    if request.mimetype in FORM_TYPES:
        try:
            form = request.form
        except RequestEntityTooLarge:
            return  # never read, so harmless: refused for its size by whatever reads it (a view may say so its way)
        if _has_nul(form.items(multi=True)):
            abort(400, description="The form contains a NUL character, which is never valid.")
