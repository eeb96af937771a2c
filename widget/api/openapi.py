"""The OpenAPI 3.1 description of API v1, served at /api/v1/openapi.json: generated from web/schema.py."""
from functools import cache
from typing import Any

from pydantic import TypeAdapter
from pydantic.json_schema import JsonSchemaMode

from ..models import MAX_ID
from ..web import schema

REF = "#/components/schemas/{model}"

COMMENT_ID = {"name": "comment_id", "in": "path", "required": True,
              "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID}}
READER_TOKEN = {"name": "X-Reader-Token", "in": "header", "required": False,
                "description": "The anonymous reader token the server issued with an earlier like or comment; "
                               "one that is unknown, malformed or forged counts as none.",
                "schema": {"type": "string"}}
EDIT_TOKEN = {"name": "X-Edit-Token", "in": "header", "required": False,
              "description": "The edit_token returned when the comment was posted. A logged-in author sends "
                             "their bearer token instead.",
              "schema": {"type": "string"}}
ERRORS = {
    400: "The input is wrong; the message says what.",
    401: "The bearer token is unknown, expired or revoked.",
    403: "Not allowed: origin, edit token, edit window, locked thread or site rules.",
    404: "Unknown site or comment.",
    413: "The request body is larger than the server accepts.",
    415: "The body was not sent as application/json.",
    429: "Too many requests from this address or reader in a short time; Retry-After says when to try again.",
    503: "The database cannot be reached for the moment: nothing was stored. Retry-After says when to try again.",
}


def _name(python_name):
    # Response shapes are named CommentJSON and so on in the code, beside the Comment model; the
    # document has no models to tell them from.
    return python_name.removesuffix("JSON")


def _ref(definition):
    return {"$ref": REF.format(model=_name(definition.__name__))}


def _json(definition, description):
    return {"description": description, "content": {"application/json": {"schema": _ref(definition)}}}


def _body(model):
    return {"required": True, "content": {"application/json": {"schema": _ref(model)}}}


def _errors(*statuses):
    return {str(s): {"$ref": f"#/components/responses/E{s}"} for s in statuses}


def _tidy(node):
    """pydantic titles every schema after its Python name, which the document's readers need not see."""
    if isinstance(node, dict):
        return {key: (_tidy(value) if key != "properties" else {name: _tidy(field) for name, field in value.items()})
                if key != "$ref" else REF.format(model=_name(value.rsplit("/", 1)[-1]))
                for key, value in node.items() if key != "title"}
    if isinstance(node, list):
        return [_tidy(item) for item in node]
    return node


def _components():
    definitions: list[tuple[Any, JsonSchemaMode, TypeAdapter[Any]]] = [
        *((model, "validation", TypeAdapter(model)) for model in schema.REQUESTS),
        *((shape, "serialization", TypeAdapter(shape)) for shape in schema.RESPONSES),
    ]
    _, generated = TypeAdapter.json_schemas(definitions, ref_template=REF)
    return {_name(name): _tidy(definition) for name, definition in generated["$defs"].items()}


def _query(model):
    """Query parameters from a request model: each field's schema, as the model checks it."""
    generated = _tidy(model.model_json_schema(ref_template=REF))
    required = set(generated.get("required", ()))
    parameters = []
    for name, field_schema in generated["properties"].items():
        # A query string has no null: an optional parameter is one that is left out.
        if field_schema.get("default", ...) is None:
            del field_schema["default"]
        if isinstance(field_schema.get("type"), list):
            field_schema["type"] = next(kind for kind in field_schema["type"] if kind != "null")
        parameter = {"name": name, "in": "query", "required": name in required}
        if "description" in field_schema:
            parameter["description"] = field_schema.pop("description")
        if field_schema.get("type") == "array":
            parameter |= {"style": "form", "explode": True}
        parameters.append(parameter | {"schema": field_schema})
    return parameters


@cache
def openapi_document():
    responses = {
        # Refused by the HTTP server in front, before the app: its own page, not this API's JSON.
        "E414": {"description": "The address is longer than the HTTP server accepts."},
    } | {f"E{status}": _json(schema.ErrorJSON, text) for status, text in ERRORS.items()}
    paths = {
        "/threads": {"get": {
            "summary": "A page of a thread's top-level comments with their replies: at most `limit` top-level "
                       "comments and 500 comments in all.",
            "operationId": "readThread",
            "parameters": [*_query(schema.ThreadQuery),
                           {"name": "If-None-Match", "in": "header", "schema": {"type": "string"}}, READER_TOKEN],
            "responses": {
                "200": _json(schema.ThreadPageJSON, "The thread (or an empty one if the page has no comments yet)."),
                "304": {"description": "Unchanged since the ETag given in If-None-Match."},
            } | _errors(400, 404, 414, 503),
        }},
        "/threads/live": {"get": {
            "summary": "Live updates of a thread, as Server-Sent Events (text/event-stream).",
            "description": "Opens with a `retry:` line (milliseconds to wait before reconnecting). Then an event "
                           "each time the thread changes (a comment posted, approved, edited, deleted or liked): "
                           "`id: <version>`, `event: changed`, `data: {\"version\": N, \"comment_count\": "
                           "<approved comments>}`; read the thread again (GET /threads, with `v=<version>`) to "
                           "see what changed. A `Last-Event-ID` (or `last_event_id`) older than the thread's "
                           "version is answered with an event at once. A comment line (`: ping`) comes every 20 "
                           "seconds, and the stream ends after 5 minutes (the server's defaults); the browser "
                           "then reconnects with Last-Event-ID. A page without comments yet has version 0. "
                           "Events name no comment and carry no text, and come only for changes readers see: a "
                           "comment held for moderation or filed as spam, and its author's edits while it waits, "
                           "move no version.",
            "operationId": "watchThread",
            "parameters": [*_query(schema.LiveQuery),
                           {"name": "Last-Event-ID", "in": "header", "required": False,
                            "description": "The id of the last event received; browsers send it when they "
                                           "reconnect. It wins over `last_event_id`.",
                            "schema": {"type": "integer", "minimum": 0, "maximum": MAX_ID}}],
            "responses": {
                "200": {"description": "The stream.", "content": {"text/event-stream": {"schema": {"type": "string"}}}},
                "204": {"description": "This server runs one request at a time per worker, which a stream would "
                                       "hold: no live updates here (EventSource stops asking)."},
                "429": _json(schema.ErrorJSON, "This client's address holds as many of the process's streams as "
                                               "one address may (`too_many_streams_from_you`); Retry-After says "
                                               "when to try again."),
                "503": _json(schema.ErrorJSON, "As many streams are open as this server process takes "
                                               "(`too_many_streams`), or the database cannot be reached; "
                                               "Retry-After says when to try again."),
            } | _errors(400, 403, 404, 414),
        }},
        "/comments": {"post": {
            "summary": "Post a comment or a reply.",
            "operationId": "postComment",
            "parameters": [READER_TOKEN],
            "requestBody": _body(schema.NewComment),
            "responses": {"201": _json(schema.PostedCommentJSON, "Stored; status is approved or pending.")}
            | _errors(400, 403, 404, 413, 415, 429, 503),
        }},
        "/comments/{comment_id}": {
            "parameters": [COMMENT_ID],
            "patch": {
                "summary": "Edit a comment within the site's edit window.",
                "operationId": "editComment",
                "parameters": [EDIT_TOKEN],
                "requestBody": _body(schema.CommentEdit),
                "responses": {"200": _json(schema.EditedCommentJSON, "The edited comment.")}
                | _errors(400, 401, 403, 404, 413, 415, 429, 503),
            },
            "delete": {
                "summary": "Delete a comment; one with replies stays as a placeholder.",
                "operationId": "deleteComment",
                "parameters": [EDIT_TOKEN],
                "responses": {"204": {"description": "Deleted."}} | _errors(401, 403, 404, 429, 503),
            },
        },
        "/comments/{comment_id}/replies": {"get": {
            "summary": "More replies under a top-level comment whose replies did not all fit on a thread page.",
            "operationId": "readReplies",
            "parameters": [COMMENT_ID, *_query(schema.RepliesQuery), READER_TOKEN],
            "responses": {"200": _json(schema.RepliesPageJSON, "The next replies, at most as many as a page holds.")}
            | _errors(400, 401, 404, 503),
        }},
        "/comments/{comment_id}/like": {
            "parameters": [COMMENT_ID, READER_TOKEN],
            "post": {"summary": "Like a comment (once per reader).", "operationId": "likeComment",
                     "responses": {"200": _json(schema.LikeStateJSON, "The new like count.")}
                     | _errors(401, 403, 404, 429, 503)},
            "delete": {"summary": "Take a like back.", "operationId": "unlikeComment",
                       "responses": {"200": _json(schema.LikeStateJSON, "The new like count.")}
                       | _errors(401, 403, 404, 429, 503)},
        },
        "/counts": {"get": {
            "summary": "Approved comment counts for up to 100 page URLs of a site.",
            "operationId": "countComments",
            "parameters": _query(schema.CountsQuery),
            "responses": {"200": _json(schema.CountsJSON, "Counts keyed by each URL as given.")}
            | _errors(400, 404, 414, 503),
        }},
        "/form-token": {"get": {
            "summary": "A single-use form token for one comment on the site. Ask when the reader starts writing "
                       "and send it as the comment's form_token: a comment without a valid, unspent one, or sent "
                       "back sooner than min_seconds after it, waits for a moderator (see NewComment.form_token).",
            "operationId": "formToken",
            "parameters": _query(schema.FormTokenQuery),
            "responses": {"200": _json(schema.FormTokenJSON, "A fresh token (never cached).")}
            | _errors(400, 404, 429, 503),
        }},
        "/embed-check": {"get": {
            "summary": "Whether a site's comments can show on the asking page, judged by its Origin header; "
                       "the loader asks when its frame stays silent. Any origin may read the answer.",
            "operationId": "checkEmbed",
            "parameters": _query(schema.EmbedCheckQuery),
            "responses": {"200": _json(schema.EmbedCheckJSON, "The problem, if there is one.")}
            | _errors(400, 503),
        }},
        "/me/data": {"get": {
            "summary": "Everything stored about the logged-in reader, as a JSON file (Content-Disposition: "
                       "attachment): account, comments, likes, notifications, bans.",
            "operationId": "myData",
            "security": [{"bearer": []}],
            "responses": {"200": _json(schema.ReaderDataJSON, "The reader's data.")} | _errors(401, 503),
        }},
        "/me": {"get": {
            "summary": "The logged-in reader, or null.",
            "operationId": "me",
            "responses": {"200": _json(schema.MeJSON, "Who the bearer token belongs to.")} | _errors(401, 503),
        }, "delete": {
            "summary": "Delete the logged-in reader's comments (or keep their text without the author), likes, "
                       "notifications and account, on every site of this server. Comments others replied to "
                       "stay as \"deleted\" placeholders. The token stops working.",
            "operationId": "eraseMe",
            "security": [{"bearer": []}],
            "requestBody": {"required": False,
                            "content": {"application/json": {"schema": _ref(schema.ReaderErasure)}}},
            "responses": {"200": _json(schema.ErasedJSON, "Done: what was removed, counted.")}
            | _errors(400, 401, 403, 413, 415, 429, 503),
        }},
        "/auth/exchange": {"post": {
            "summary": "Trade the widget's login secret and the popup's one-time code (or the pairing code the "
                       "reader typed) for a bearer token.",
            "operationId": "exchangeLoginCode",
            "security": [],
            "requestBody": _body(schema.LoginExchange),
            "responses": {
                "200": _json(schema.LoggedInJSON, "Logged in."),
                "202": _json(schema.LoginWaitingJSON,
                             "Without a code: `pending` while the login has not finished (ask again shortly); "
                             "`pairing` once it has, and the pairing code the popup shows is needed."),
            } | _errors(400, 413, 415, 429, 503),
        }},
        "/auth/logout": {"post": {
            "summary": "End the login: the bearer token stops working.",
            "operationId": "logout",
            "responses": {"204": {"description": "Logged out."}} | _errors(401, 503),
        }},
        "/comments/{comment_id}/avatar": {"get": {
            "summary": "A guest's picture from the avatar service their site chose (Gravatar or Libravatar), "
                       "fetched and kept by this server; their generated avatar where the service has none. "
                       "Comments' avatar_url links here; the key names the picture without revealing the email.",
            "operationId": "commentAvatar",
            "parameters": [COMMENT_ID, {"name": "k", "in": "query", "required": True,
                                        "schema": {"type": "string", "pattern": "^[0-9a-f]{40}$"}}],
            "responses": {"200": {"description": "The picture.",
                                  "content": {"image/jpeg": {}, "image/png": {}, "image/svg+xml": {}}}}
            | _errors(400, 404, 503),
        }},
        "/avatars/{seed}.svg": {"get": {
            "summary": "A generated avatar.",
            "operationId": "avatar",
            "parameters": [{"name": "seed", "in": "path", "required": True,
                            "schema": {"type": "string", "pattern": "^[0-9a-f]{32}$"}}],
            "responses": {"200": {"description": "SVG image.", "content": {"image/svg+xml": {}}},
                          "404": {"$ref": "#/components/responses/E404"}},
        }},
        "/openapi.json": {"get": {
            "summary": "This document.", "operationId": "openapi",
            "responses": {"200": {"description": "OpenAPI 3.1 document.", "content": {"application/json": {}}}},
        }},
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Parley API",
            "version": "1",
            "description": "Threaded comments per page for many sites. Errors are "
                           '{"error": {"code", "message"}} with a 4xx status, or 503 while the database '
                           "cannot be reached.",
        },
        "servers": [{"url": "/api/v1"}],
        "paths": paths,
        "components": {
            "schemas": _components(),
            "responses": responses,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "Token from /auth/exchange; guests send none."},
            },
        },
        "security": [{}, {"bearer": []}],
    }
