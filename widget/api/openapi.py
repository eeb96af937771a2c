"""The OpenAPI 3.1 description of API v1, served at /api/v1/openapi.json."""


def _ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema, description):
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses):
    return {str(s): {"$ref": f"#/components/responses/E{s}"} for s in statuses}


# What text the API takes, as patterns. Each admits everything the server accepts (and may admit
# some it refuses for reasons a pattern cannot state, such as a URL's host being malformed).
# Optional text that is empty or only spaces counts as absent; values are trimmed.
SITE_ID = r"^[a-z0-9][a-z0-9-]{0,39}$"
LINE = r"^[^\x00-\x1f\x7f\u2028\u2029]*$"
MULTILINE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
_URL = r"[Hh][Tt][Tt][Pp][Ss]?://[^\x00-\x20\x7f\"<>\\^`{|}]+"
WEB_URL = rf"^{_URL}$"
OPTIONAL_WEB_URL = rf"^(\s*|\s*{_URL}\s*)$"
EMAIL = r"^\s*[^@\s\x00-\x1f]{1,64}@[^@\s\x00-\x1f]+\.[^@\s\x00-\x1f]+\s*$"
MAX_ID = 2**31 - 1

SITE = {"name": "site", "in": "query", "required": True, "description": "The site's public id.",
        "schema": {"type": "string", "pattern": SITE_ID}}
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


def openapi_document():
    schemas = {
        "Error": {
            "type": "object", "required": ["error"],
            "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
                "code": {"type": "string", "description": "Stable machine-readable reason."},
                "message": {"type": "string", "description": "What is wrong, in words."},
            }}},
        },
        "Author": {
            "type": "object", "required": ["name", "website", "avatar_url", "provider"],
            "properties": {
                "name": {"type": ["string", "null"]},
                "website": {"type": ["string", "null"], "format": "uri"},
                "avatar_url": {"type": ["string", "null"], "format": "uri"},
                "provider": {"type": ["string", "null"]},
                "badge": {"enum": ["author", "owner", "moderator", "admin", None],
                          "description": "Set when a logged-in member of the site's staff wrote it: the post's "
                                         "author, the site's owner or moderator, or the server's administrator."},
            },
        },
        "Comment": {
            "type": "object",
            "required": ["id", "parent_id", "author", "html", "created_at", "edited_at", "likes",
                         "liked_by_me", "status", "can_edit", "replies"],
            "properties": {
                "id": {"type": "integer"},
                "parent_id": {"type": ["integer", "null"]},
                "depth": {"type": "integer", "description": "Level in the conversation, 1 for top-level."},
                "author": _ref("Author"),
                "html": {"type": "string", "description": "Sanitised HTML rendered from the Markdown body."},
                "created_at": {"type": "string", "format": "date-time"},
                "edited_at": {"type": ["string", "null"], "format": "date-time"},
                "likes": {"type": "integer"},
                "liked_by_me": {"type": "boolean"},
                "status": {"enum": ["approved", "pending", "deleted"]},
                "can_edit": {"type": "boolean"},
                "body": {"type": "string", "description": "The Markdown source; only on the reader's own "
                                                          "comments while they may still edit them."},
                "pinned": {"type": "boolean", "description": "Pinned by a moderator: shown before the other "
                                                            "top-level comments in every sort."},
                "edited_by_moderator": {"type": "boolean", "description": "The last edit was a moderator's."},
                "in_reply_to": {
                    "description": "Set on a reply shown at the deepest level instead of under its parent.",
                    "oneOf": [{"type": "null"}, {"type": "object", "properties": {
                        "id": {"type": "integer"}, "author": {"type": ["string", "null"]}}}],
                },
                "replies": {"type": "array", "items": _ref("Comment")},
                "more_replies": {"type": "integer", "minimum": 0,
                                 "description": "On a top-level comment: replies that did not fit on this page. "
                                                "Fetch them with GET /comments/{id}/replies?cursor=replies_cursor."},
                "replies_cursor": {"type": ["string", "null"]},
            },
        },
        "RepliesPage": {
            "type": "object", "required": ["comments", "more_replies", "next_cursor"],
            "properties": {
                "comments": {"type": "array", "items": _ref("Comment"),
                             "description": "Replies, oldest first; each goes under its parent_id (a reply "
                                            "deeper than the site's deepest level, under that parent's place, "
                                            "with in_reply_to set). Their own replies arrive in the same list."},
                "more_replies": {"type": "integer", "minimum": 0, "description": "Replies still to come."},
                "next_cursor": {"type": ["string", "null"]},
            },
        },
        "Thread": {
            "type": "object", "required": ["id", "url", "title", "locked", "comment_count"],
            "properties": {
                "id": {"type": ["integer", "null"], "description": "Null until the page's first comment."},
                "url": {"type": ["string", "null"]},
                "title": {"type": ["string", "null"]},
                "locked": {"type": "boolean", "description": "Locked by a moderator or closed by age."},
                "comment_count": {"type": "integer"},
            },
        },
        "ThreadPage": {
            "type": "object", "required": ["thread", "comments", "next_cursor"],
            "properties": {
                "thread": _ref("Thread"),
                "comments": {"type": "array", "items": _ref("Comment")},
                "next_cursor": {"type": ["string", "null"]},
            },
        },
        "NewComment": {
            "type": "object", "required": ["site", "body"], "additionalProperties": False,
            "description": "Give url or thread_id (or both: the thread id keys the thread, the URL is remembered). "
                           "Guests give an author; logged-in readers give none.",
            "properties": {
                "site": {"type": "string", "pattern": SITE_ID},
                "url": {"type": ["string", "null"], "pattern": OPTIONAL_WEB_URL, "maxLength": 2048},
                "thread_id": {"type": ["string", "null"], "pattern": LINE, "maxLength": 200},
                "title": {"type": ["string", "null"], "pattern": LINE, "maxLength": 300},
                "parent_id": {"type": ["integer", "null"], "minimum": 1, "maximum": MAX_ID},
                "body": _ref("Body"),
                "author": {
                    "type": ["object", "null"], "required": ["name", "email"], "additionalProperties": False,
                    "properties": {
                        "name": {"type": "string", "pattern": LINE, "minLength": 1, "maxLength": 100},
                        "email": {"type": "string", "pattern": EMAIL, "maxLength": 254,
                                  "description": "Never shown or returned."},
                        "website": {"type": ["string", "null"], "pattern": OPTIONAL_WEB_URL, "maxLength": 500},
                    },
                },
                "notify": {"enum": ["replies", "all", None]},
            },
        },
        "Body": {
            "type": "string", "pattern": MULTILINE, "minLength": 1, "maxLength": 100_000,
            "description": "Markdown, with something besides spaces. Each site sets its longest comment "
                           "(10,000 characters unless its owner chose otherwise) and its most links.",
        },
        "CommentEdit": {
            "type": "object", "required": ["body"], "additionalProperties": False,
            "properties": {"body": _ref("Body")},
        },
        "User": {
            "type": "object", "required": ["id", "name", "avatar_url", "profile_url", "provider", "provider_label"],
            "properties": {
                "id": {"type": "integer"},
                "name": {"type": "string"},
                "avatar_url": {"type": ["string", "null"], "format": "uri"},
                "profile_url": {"type": ["string", "null"], "format": "uri"},
                "provider": {"type": ["string", "null"], "description": "Provider name, e.g. github."},
                "provider_label": {"type": ["string", "null"], "description": "Provider name to show, e.g. GitHub."},
            },
        },
        "LikeState": {
            "type": "object", "required": ["id", "likes", "liked_by_me"],
            "properties": {
                "id": {"type": "integer"}, "likes": {"type": "integer"}, "liked_by_me": {"type": "boolean"},
                "reader_token": {"type": "string", "description": "Issued when the request carried none."},
            },
        },
    }
    responses = {
        # Refused by the HTTP server in front, before the app: its own page, not this API's JSON.
        "E414": {"description": "The address is longer than the HTTP server accepts."},
    } | {
        f"E{status}": _json(_ref("Error"), text) for status, text in {
            400: "The input is wrong; the message says what.",
            401: "The bearer token is unknown, expired or revoked.",
            403: "Not allowed: origin, edit token, edit window, locked thread or site rules.",
            404: "Unknown site or comment.",
            413: "The request body is larger than the server accepts.",
            415: "The body was not sent as application/json.",
            503: "The database cannot be reached for the moment: nothing was stored. Retry-After says when "
                 "to try again.",
        }.items()
    }
    paths = {
        "/threads": {"get": {
            "summary": "A page of a thread's top-level comments with their replies: at most `limit` top-level "
                       "comments and 500 comments in all.",
            "operationId": "readThread",
            "parameters": [
                SITE,
                {"name": "url", "in": "query", "schema": {"type": "string", "pattern": OPTIONAL_WEB_URL,
                                                           "maxLength": 2048}},
                {"name": "thread_id", "in": "query", "schema": {"type": "string", "pattern": LINE,
                                                                 "maxLength": 200}},
                {"name": "sort", "in": "query", "schema": {"enum": ["oldest", "newest", "top"], "default": "oldest"}},
                {"name": "cursor", "in": "query", "schema": {"type": "string", "maxLength": 500}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200,
                                                             "default": 50}},
                {"name": "If-None-Match", "in": "header", "schema": {"type": "string"}},
                READER_TOKEN,
            ],
            "responses": {
                "200": _json(_ref("ThreadPage"), "The thread (or an empty one if the page has no comments yet)."),
                "304": {"description": "Unchanged since the ETag given in If-None-Match."},
            } | _errors(400, 404, 414, 503),
        }},
        "/comments": {"post": {
            "summary": "Post a comment or a reply.",
            "operationId": "postComment",
            "parameters": [READER_TOKEN],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("NewComment")}}},
            "responses": {
                "201": _json({
                    "type": "object", "required": ["comment", "edit_token"],
                    "properties": {
                        "comment": _ref("Comment"),
                        "edit_token": {"type": "string", "description": "Send as X-Edit-Token to edit or delete."},
                        "reader_token": {"type": "string", "description": "Issued when the request carried none."},
                    },
                }, "Stored; status is approved or pending."),
            } | _errors(400, 403, 404, 413, 415, 503),
        }},
        "/comments/{comment_id}": {
            "parameters": [COMMENT_ID],
            "patch": {
                "summary": "Edit a comment within the site's edit window.",
                "operationId": "editComment",
                "parameters": [EDIT_TOKEN],
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("CommentEdit")}}},
                "responses": {"200": _json({"type": "object", "required": ["comment"],
                                            "properties": {"comment": _ref("Comment")}},
                                           "The edited comment.")} | _errors(400, 401, 403, 404, 413, 415, 503),
            },
            "delete": {
                "summary": "Delete a comment; one with replies stays as a placeholder.",
                "operationId": "deleteComment",
                "parameters": [EDIT_TOKEN],
                "responses": {"204": {"description": "Deleted."}} | _errors(401, 403, 404, 503),
            },
        },
        "/comments/{comment_id}/replies": {"get": {
            "summary": "More replies under a top-level comment whose replies did not all fit on a thread page.",
            "operationId": "readReplies",
            "parameters": [COMMENT_ID,
                           {"name": "cursor", "in": "query", "required": True,
                            "description": "replies_cursor from the thread page, then next_cursor from here.",
                            "schema": {"type": "string", "maxLength": 500}},
                           READER_TOKEN],
            "responses": {"200": _json(_ref("RepliesPage"), "The next replies, at most as many as a page holds.")}
            | _errors(400, 401, 404, 503),
        }},
        "/comments/{comment_id}/like": {
            "parameters": [COMMENT_ID, READER_TOKEN],
            "post": {"summary": "Like a comment (once per reader).", "operationId": "likeComment",
                     "responses": {"200": _json(_ref("LikeState"), "The new like count.")}
                     | _errors(401, 403, 404, 503)},
            "delete": {"summary": "Take a like back.", "operationId": "unlikeComment",
                       "responses": {"200": _json(_ref("LikeState"), "The new like count.")}
                       | _errors(401, 403, 404, 503)},
        },
        "/counts": {"get": {
            "summary": "Approved comment counts for up to 100 page URLs of a site.",
            "operationId": "countComments",
            "parameters": [SITE, {"name": "url", "in": "query", "required": True, "style": "form", "explode": True,
                                  "schema": {"type": "array", "minItems": 1, "maxItems": 100,
                                             "items": {"type": "string", "pattern": WEB_URL, "maxLength": 2048}}}],
            "responses": {"200": _json({
                "type": "object", "required": ["counts"],
                "properties": {"counts": {"type": "object", "additionalProperties": {"type": "integer"}}},
            }, "Counts keyed by each URL as given.")} | _errors(400, 404, 414, 503),
        }},
        "/me": {"get": {
            "summary": "The logged-in reader, or null.",
            "operationId": "me",
            "responses": {
                "200": _json({"type": "object", "required": ["user"],
                              "properties": {"user": {"oneOf": [{"type": "null"}, _ref("User")]}}},
                             "Who the bearer token belongs to."),
            } | _errors(401, 503),
        }},
        "/auth/exchange": {"post": {
            "summary": "Trade the widget's login secret and the popup's one-time code (or the pairing code the "
                       "reader typed) for a bearer token.",
            "operationId": "exchangeLoginCode",
            "security": [],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["secret"], "additionalProperties": False,
                "properties": {
                    "secret": {"type": "string", "pattern": "^[A-Za-z0-9_-]{32,128}$",
                               "description": "The random secret whose SHA-256 (hex) the login popup carried."},
                    "code": {"type": ["string", "null"], "maxLength": 128,
                             "description": "The code the popup posted back to the frame that opened it."},
                    "pairing_code": {"type": ["string", "null"], "maxLength": 20,
                                     "description": "Where the popup lost its opener: the code it shows, as the "
                                                    "reader typed it (case, spaces and dashes do not matter)."},
                },
            }}}},
            "responses": {
                "200": _json({"type": "object", "required": ["token", "expires_at", "user"], "properties": {
                    "token": {"type": "string", "description": "Send as Authorization: Bearer."},
                    "expires_at": {"type": "string", "format": "date-time"},
                    "user": _ref("User"),
                }}, "Logged in."),
                "202": _json({"type": "object", "required": ["status"],
                              "properties": {"status": {"enum": ["pending", "pairing"]}}},
                             "Without a code: `pending` while the login has not finished (ask again shortly); "
                             "`pairing` once it has, and the pairing code the popup shows is needed."),
            } | _errors(400, 413, 415, 503),
        }},
        "/auth/logout": {"post": {
            "summary": "End the login: the bearer token stops working.",
            "operationId": "logout",
            "responses": {"204": {"description": "Logged out."}} | _errors(401, 503),
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
            "schemas": schemas,
            "responses": responses,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "Token from /auth/exchange; guests send none."},
            },
        },
        "security": [{}, {"bearer": []}],
    }
