"""The API's requests and responses, each defined once.

Requests are pydantic models: the views validate input with them, and the OpenAPI document is
generated from them. Each field type pairs the check that runs (web/inputs.py, whose errors
carry the codes clients see) with the JSON Schema the document states, built from the same
limits. Responses are TypedDicts: the serialisers are typed with them, the document is
generated from them, and a test validates real answers against that document.
"""
import re
from typing import Annotated, Any, Literal, NotRequired

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, ValidationInfo, WithJsonSchema
from pydantic import with_config as pydantic_config
from typing_extensions import TypedDict

from .. import names
from ..comments import NOTIFY_CHOICES, SORTS
from ..errors import InvalidInput
from ..models import MAX_ID
from ..privacy import MODES as ERASE_MODES
from . import inputs

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
THREAD_ID = re.compile(r"^[^\x00-\x1f\x7f]{1,200}$")
SECRET = re.compile(r"^[A-Za-z0-9_-]{32,128}$")
# The longest comment any site may allow; each site's own limit is checked against the site.
MAX_BODY = 100_000
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_COUNT_URLS = 100


def _field(check, schema):
    """A field type: `check(value, name)` validates (raising InvalidInput), `schema` is what the document says."""
    return Annotated[Any, BeforeValidator(lambda value, info: check(value, info.field_name)),
                     WithJsonSchema(schema)]


def _nullable(schema):
    return {**schema, "type": [schema["type"], "null"]}


def line(max_length, *, required=False, pattern=LINE):
    """One line of text: no control characters, trimmed; absent when empty unless required."""
    schema = {"type": "string", "pattern": pattern, "maxLength": max_length}
    return _field(lambda value, name: inputs.text(value, name, max_length, required=required),
                  {**schema, "minLength": 1} if required else _nullable(schema))


def display_line(max_length, *, required=False):
    """A line shown to readers as written (a name, a page title): a line, without marks piled on one letter."""
    schema = {"type": "string", "pattern": LINE, "maxLength": max_length,
              "description": f"At most {names.MAX_MARKS} combining marks on one character."}

    def check(value, name):
        value = inputs.text(value, name, max_length, required=required)
        return value if value is None else names.refuse_piled_marks(value, name)
    return _field(check, {**schema, "minLength": 1} if required else _nullable(schema))


def web_url(max_length):
    return _field(lambda value, name: inputs.web_url(value, name, max_length),
                  _nullable({"type": "string", "pattern": OPTIONAL_WEB_URL, "maxLength": max_length}))


def _thread_id(value, name):
    value = inputs.text(value, name, 200)
    if value is not None and not THREAD_ID.match(value):
        raise InvalidInput("thread_id must be 1 to 200 printable characters", code="invalid_thread_id")
    return value


def _body(value, name):
    # Kept as typed (leading spaces can be Markdown); the site's own limit is checked by the view.
    return inputs.text(value, name, MAX_BODY, required=True, multiline=True, strip=False)


def _secret(value, name):
    value = inputs.text(value, name, 128, required=True, strip=False)
    if not SECRET.fullmatch(value):
        raise InvalidInput("secret must be 32 to 128 URL-safe characters", code="invalid_secret")
    return value


def _limit(value, name, max_limit):
    text = value if isinstance(value, str) else ""
    if not re.fullmatch(r"\d{1,4}", text) or not 1 <= int(text) <= max_limit:
        raise InvalidInput(f"limit must be a whole number from 1 to {max_limit}", code="invalid_limit")
    return int(text)


def _check_limit(value, info: ValidationInfo):
    return _limit(value, info.field_name, (info.context or {}).get("max_limit", MAX_PAGE_SIZE))


SiteId = _field(lambda value, name: inputs.text(value, name, 40, required=True),
                {"type": "string", "pattern": SITE_ID, "description": "The site's public id."})
# As the embed code gave it, right or wrong: the embed check says what is wrong with a malformed one too.
GivenSiteId = _field(lambda value, name: inputs.text(value, name, 40, required=True),
                     {"type": "string", "minLength": 1, "maxLength": 40,
                      "description": "The site id as the embed code gives it (data-parley-site)."})
ThreadId = _field(_thread_id, _nullable({"type": "string", "pattern": LINE, "maxLength": 200}))
Body = _field(_body, {"type": "string", "pattern": MULTILINE, "minLength": 1, "maxLength": MAX_BODY,
                      "description": "Markdown, with something besides spaces. Each site sets its longest comment "
                                     "(10,000 characters unless its owner chose otherwise) and its most links."})
Email = _field(lambda value, name: inputs.email(value, name),
               {"type": "string", "pattern": EMAIL, "maxLength": 254, "description": "Never shown or returned."})
ParentId = _field(inputs.identifier, {"type": ["integer", "null"], "minimum": 1, "maximum": MAX_ID})
Notify = _field(lambda value, name: inputs.choice(value, name, NOTIFY_CHOICES), {"enum": list(NOTIFY_CHOICES)})
Sort = _field(lambda value, name: inputs.choice(value, name, SORTS), {"enum": list(SORTS), "default": SORTS[0]})
Cursor = line(500)
Limit = Annotated[Any, BeforeValidator(_check_limit),
                  WithJsonSchema({"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE,
                                  "default": DEFAULT_PAGE_SIZE})]


def _count_urls(values, name):
    if len(values) > MAX_COUNT_URLS:
        raise InvalidInput(f"{len(values)} URLs asked for; one call takes at most {MAX_COUNT_URLS}",
                           code="too_many_urls")
    return [inputs.text(url, name, 2048, required=True, strip=False) for url in values]


CountUrls = _field(_count_urls, {"type": "array", "minItems": 1, "maxItems": MAX_COUNT_URLS,
                                 "items": {"type": "string", "pattern": WEB_URL, "maxLength": 2048}})
Name = display_line(100, required=True)
Title = display_line(300)
PageUrl = web_url(2048)
Website = web_url(500)


class Request(BaseModel):
    """A request body or query: only these fields, each checked by its type."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NewAuthor(Request):
    """A guest's name, email and website; logged-in readers give none."""

    name: Name
    email: Email
    website: Website = None


class NewComment(Request):
    """Give url or thread_id (or both: the thread id keys the thread, the URL is remembered).
    Guests give an author; logged-in readers give none."""

    site: SiteId
    url: PageUrl = None
    thread_id: ThreadId = None
    title: Title = None
    parent_id: ParentId = None
    body: Body
    author: NewAuthor | None = None
    notify: Notify = None
    honeypot: _field(lambda value, name: inputs.text(value, name, 500),
                     {"type": ["string", "null"], "maxLength": 500,
                      "description": "The form's field hidden from people: empty, or a bot filled it in."}) = None
    form_token: _field(lambda value, name: inputs.text(value, name, 200),
                       {"type": ["string", "null"], "maxLength": 200,
                        "description": "A token from GET /form-token (or the form_token of the answer to the "
                                       "previous comment), asked for when the reader starts writing: it is good for "
                                       "one comment on its site, for a day. A comment without a valid, unspent one "
                                       "waits for a moderator, unless its author is logged in or had a comment "
                                       "approved on the site before from the same reader token and email; one sent "
                                       "back sooner after the token than people write (3 seconds unless the server "
                                       "says otherwise) waits too."}) = None
    lang: _field(lambda value, name: inputs.text(value, name, 35),
                 {"type": ["string", "null"], "maxLength": 35,
                  "description": "The reader's language (a BCP 47 tag): the emails they asked for are in it."}) = None


class CommentEdit(Request):
    body: Body


class LoginExchange(Request):
    secret: _field(_secret, {"type": "string", "pattern": SECRET.pattern,
                             "description": "The random secret whose SHA-256 (hex) the login popup carried."})
    code: _field(lambda value, name: inputs.text(value, name, 128, strip=False),
                 {"type": ["string", "null"], "maxLength": 128,
                  "description": "The code the popup posted back to the frame that opened it."}) = None
    pairing_code: _field(lambda value, name: inputs.text(value, name, 20),
                         {"type": ["string", "null"], "maxLength": 20,
                          "description": "Where the popup lost its opener: the code it shows, as the reader typed "
                                         "it (case, spaces and dashes do not matter)."}) = None


class ReaderErasure(Request):
    """What becomes of the logged-in reader's comments; their likes, notifications and account go either way."""

    mode: _field(lambda value, name: inputs.choice(value, name, ERASE_MODES),
                 {"enum": list(ERASE_MODES), "default": ERASE_MODES[0],
                  "description": "erase: delete the comments (one others replied to stays as a \"deleted\" "
                                 "placeholder). anonymise: keep their text, without the author."}) = ERASE_MODES[0]
    lang: _field(lambda value, name: inputs.text(value, name, 35),
                 {"type": ["string", "null"], "maxLength": 35,
                  "description": "The reader's language (a BCP 47 tag): anonymised comments show "
                                 "\"Anonymous\" in it."}) = None


def _version(value, name):
    text = value if isinstance(value, str) else ""
    if not re.fullmatch(r"[0-9]{1,10}", text) or int(text) > MAX_ID:
        raise InvalidInput(f"{name} must be a whole number from 0 to {MAX_ID}", code=f"invalid_{name}")
    return int(text)


def _version_field(description):
    return _field(_version, {"type": "integer", "minimum": 0, "maximum": MAX_ID, "description": description})


class ThreadQuery(Request):
    site: SiteId
    url: PageUrl = None
    thread_id: ThreadId = None
    sort: Sort = SORTS[0]
    cursor: Cursor = None
    limit: Limit = Field(None, json_schema_extra={"default": DEFAULT_PAGE_SIZE})
    v: _version_field("Ignored: the thread version a live event announced, so that a cache in front cannot "
                      "answer with a copy older than it.") = None


class LiveQuery(Request):
    site: SiteId
    url: PageUrl = None
    thread_id: ThreadId = None
    last_event_id: _version_field("The thread version the reader has on screen; a newer one is announced at once. "
                                  "The Last-Event-ID header, which browsers send when they reconnect, wins.") = None


class RepliesQuery(Request):
    cursor: _field(lambda value, name: inputs.text(value, name, 500, required=True),
                   {"type": "string", "maxLength": 500,
                    "description": "replies_cursor from the thread page, then next_cursor from here."})


class CountsQuery(Request):
    site: SiteId
    url: CountUrls
    lang: _field(lambda value, name: inputs.text(value, name, 35),
                 {"type": ["string", "null"], "maxLength": 35,
                  "description": "A language (a BCP 47 tag) to have each count said in words, as `labels`; "
                                 "English where it is not one the server speaks."}) = None


class EmbedCheckQuery(Request):
    site: GivenSiteId


class FormTokenQuery(Request):
    site: SiteId


def _invalid(model, error):
    """The first thing pydantic found wrong, in the API's words and codes (inputs.py raises its own)."""
    problems = error.errors()
    unknown = [p for p in problems if p["type"] == "extra_forbidden"]
    if unknown:
        where = " ".join(str(part) for part in unknown[0]["loc"][:-1])
        names = ", ".join(str(p["loc"][-1]) for p in unknown)[:200]
        return InvalidInput(f"unknown {where + ' ' if where else ''}field(s): {names}", code="unknown_field")
    problem = problems[0]
    name = str(next((part for part in reversed(problem["loc"]) if isinstance(part, str)), "input"))
    if problem["type"] == "missing":
        return InvalidInput(f"{name} is required", code=f"missing_{name}")
    if problem["type"] in ("model_type", "model_attributes_type", "dict_type"):
        return InvalidInput(f"{name} must be an object with {', '.join(_object_fields(model, name))}",
                            code=f"invalid_{name}")
    return InvalidInput(f"{name}: {problem['msg'][:200]}", code=f"invalid_{name}")


def _object_fields(model, name):
    """The fields of the request model that field `name` of `model` holds (author: name, email, website)."""
    annotation = model.model_fields[name].annotation if name in model.model_fields else None
    for candidate in (annotation, *getattr(annotation, "__args__", ())):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return list(candidate.model_fields)
    return []


def _is_list(field):
    return any(isinstance(meta, WithJsonSchema) and (meta.json_schema or {}).get("type") == "array"
               for meta in field.metadata)


def parse(model, data, **context):
    """`data` checked against the request model; InvalidInput says what is wrong."""
    unknown = sorted(set(data) - set(model.model_fields))
    if unknown:
        raise InvalidInput(f"unknown field(s): {', '.join(unknown)[:200]}; allowed: {', '.join(model.model_fields)}",
                           code="unknown_field")
    try:
        return model.model_validate(data, context=context)
    except ValidationError as error:
        raise _invalid(model, error) from None


def parse_query(model, args, **context):
    """A query string checked against the model: each field given once, but for lists; other names ignored."""
    data = {}
    for name, field in model.model_fields.items():
        values = args.getlist(name)
        if not values:
            continue
        if _is_list(field):
            data[name] = values
        elif len(values) > 1:
            raise InvalidInput(f"give {name} once", code=f"invalid_{name}")
        else:
            data[name] = values[0]
    return parse(model, data, **context)


# Responses -----------------------------------------------------------------------------------

Nullable = str | None
Forbid = pydantic_config(ConfigDict(extra="forbid"))


@Forbid
class AuthorJSON(TypedDict):
    name: Nullable
    website: Annotated[Nullable, Field(json_schema_extra={"format": "uri"})]
    avatar_url: Annotated[Nullable, Field(json_schema_extra={"format": "uri"})]
    provider: Nullable
    badge: Annotated[Literal["author", "owner", "moderator", "admin"] | None, Field(
        description="Set when a logged-in member of the site's staff wrote it: the post's author, the site's owner "
                    "or moderator, or the server's administrator.")]


@Forbid
class InReplyToJSON(TypedDict):
    id: int
    author: Nullable


@Forbid
class SourceJSON(TypedDict):
    url: Annotated[str, Field(json_schema_extra={"format": "uri"})]
    host: Annotated[str, Field(description="The page's host name, to show.")]
    title: Annotated[str, Field(description="The page's title as plain text (or its URL, when it has none).")]


@Forbid
class CommentJSON(TypedDict):
    id: int
    parent_id: int | None
    depth: Annotated[int, Field(description="Level in the conversation, 1 for top-level.")]
    author: AuthorJSON
    html: Annotated[str, Field(description="Sanitised HTML rendered from the Markdown body.")]
    created_at: Annotated[str, Field(json_schema_extra={"format": "date-time"})]
    edited_at: Annotated[Nullable, Field(json_schema_extra={"format": "date-time"})]
    likes: int
    liked_by_me: bool
    status: Literal["approved", "pending", "deleted"]
    can_edit: bool
    pinned: Annotated[bool, Field(description="Pinned by a moderator: shown before the other top-level comments "
                                              "in every sort.")]
    edited_by_moderator: Annotated[bool, Field(description="The last edit was a moderator's.")]
    body: NotRequired[Annotated[str, Field(description="The Markdown source; only on the reader's own comments "
                                                       "while they may still edit them.")]]
    replies: list["CommentJSON"]
    in_reply_to: Annotated[InReplyToJSON | None, Field(
        description="Set on a reply shown at the deepest level instead of under its parent.")]
    more_replies: NotRequired[Annotated[int, Field(
        ge=0, description="On a top-level comment: replies that did not fit on this page. Fetch them with "
                          "GET /comments/{id}/replies?cursor=replies_cursor.")]]
    replies_cursor: NotRequired[Nullable]
    kind: Annotated[Literal["comment", "mention"], Field(
        description="mention: a Webmention, another page that links here. It shows its source, and takes no "
                    "replies, likes or edits.")]
    source: Annotated[SourceJSON | None, Field(description="On a mention: the page that links here.")]


@Forbid
class ThreadJSON(TypedDict):
    id: Annotated[int | None, Field(description="Null until the page's first comment.")]
    url: Nullable
    title: Nullable
    locked: Annotated[bool, Field(description="Locked by a moderator or closed by age.")]
    comment_count: int


@Forbid
class ThreadPageJSON(TypedDict):
    thread: ThreadJSON
    comments: list[CommentJSON]
    next_cursor: Nullable


@Forbid
class RepliesPageJSON(TypedDict):
    comments: Annotated[list[CommentJSON], Field(
        description="Replies, oldest first; each goes under its parent_id (a reply deeper than the site's deepest "
                    "level, under that parent's place, with in_reply_to set). Their own replies arrive in the "
                    "same list.")]
    more_replies: Annotated[int, Field(ge=0, description="Replies still to come.")]
    next_cursor: Nullable


@Forbid
class PostedCommentJSON(TypedDict):
    comment: CommentJSON
    edit_token: Annotated[str, Field(description="Send as X-Edit-Token to edit or delete.")]
    reader_token: NotRequired[Annotated[str, Field(description="Issued when the request carried none.")]]
    form_token: Annotated[str, Field(description="A form token for the reader's next comment on the site.")]
    notifications: NotRequired[Annotated[Literal["confirm", "active"], Field(
        description="Where notify was asked for: \"confirm\" while the address awaits the link emailed to it, "
                    "\"active\" once emails will be sent.")]]


@Forbid
class EditedCommentJSON(TypedDict):
    comment: CommentJSON


@Forbid
class LikeStateJSON(TypedDict):
    id: int
    likes: int
    liked_by_me: bool
    reader_token: NotRequired[Annotated[str, Field(description="Issued when the request carried none.")]]


@Forbid
class CountsJSON(TypedDict):
    counts: Annotated[dict[str, int], Field(description="Counts keyed by each URL as given.")]
    labels: NotRequired[Annotated[dict[str, str], Field(
        description="With `lang`: each count in words (\"6 Comments\"), keyed like `counts`.")]]


@Forbid
class UserJSON(TypedDict):
    id: int
    name: str
    avatar_url: Annotated[Nullable, Field(json_schema_extra={"format": "uri"})]
    profile_url: Annotated[Nullable, Field(json_schema_extra={"format": "uri"})]
    provider: Annotated[Nullable, Field(description="Provider name, e.g. github.")]
    provider_label: Annotated[Nullable, Field(description="Provider name to show, e.g. GitHub.")]
    has_email: Annotated[bool, Field(description="The provider gave an email address (never shown): "
                                                 "notifications can reach this reader.")]


@Forbid
class MeJSON(TypedDict):
    user: UserJSON | None


@Forbid
class LoggedInJSON(TypedDict):
    token: Annotated[str, Field(description="Send as Authorization: Bearer.")]
    expires_at: Annotated[str, Field(json_schema_extra={"format": "date-time"})]
    user: UserJSON


@Forbid
class LoginWaitingJSON(TypedDict):
    status: Literal["pending", "pairing"]


DateTime = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
NullableDateTime = Annotated[Nullable, Field(json_schema_extra={"format": "date-time"})]


@Forbid
class ReaderQueryJSON(TypedDict):
    email: Annotated[Nullable, Field(description="The address asked about (an administrator's export).")]
    account_id: int | None


@Forbid
class ReaderIdentityJSON(TypedDict):
    realm: Annotated[str, Field(description="The OpenID Connect issuer, or the provider's name.")]
    subject: Annotated[str, Field(description="How the provider names the reader.")]


@Forbid
class ReaderAccountJSON(TypedDict):
    id: int
    display_name: str
    email: Annotated[Nullable, Field(description="As the provider gave it; used for notifications only.")]
    email_verified: bool
    avatar_url: Nullable
    profile_url: Nullable
    provider: Nullable
    identity: ReaderIdentityJSON | None
    created_at: DateTime
    last_login_at: DateTime


@Forbid
class ReaderCommentJSON(TypedDict):
    id: int
    site: Annotated[str, Field(description="The site's public id.")]
    site_name: str
    page_url: Nullable
    page_title: Nullable
    parent_id: int | None
    kind: Literal["comment", "mention"]
    status: Literal["approved", "pending", "spam", "deleted"]
    body: Annotated[str, Field(description="The Markdown as written (or as a moderator edited it).")]
    author_name: Nullable
    author_email: Nullable
    author_website: Nullable
    avatar_url: Nullable
    logged_in: bool
    created_at: DateTime
    edited_at: NullableDateTime
    likes: Annotated[int, Field(description="Likes it received.")]
    notify: Annotated[Literal["replies", "all"] | None, Field(description="The emails asked for with it.")]
    held_reasons: Annotated[list[str] | None, Field(description="Why it was held for review, if it was.")]
    ip_address: Annotated[Nullable, Field(description="Never the address: says whether a keyed hash of it is "
                                                      "kept, which cannot be turned back into the address.")]
    sent_to_akismet: Annotated[dict[str, Any] | None, Field(
        description="What the site's Akismet spam check was sent, where the site uses it.")]


@Forbid
class ReaderLikeJSON(TypedDict):
    comment_id: int
    site: str
    page_url: Nullable
    created_at: DateTime


@Forbid
class ReaderAddressJSON(TypedDict):
    email: str
    language: str
    confirmed_at: NullableDateTime
    created_at: DateTime


@Forbid
class ReaderSubscriptionJSON(TypedDict):
    email: str
    site: str
    page_url: Nullable
    page_title: Nullable
    kind: Literal["replies", "thread"]
    comment_id: Annotated[int | None, Field(description="For \"replies\": the comment whose replies are sent.")]
    confirmed: bool
    created_at: DateTime


@Forbid
class ReaderBanJSON(TypedDict):
    site: str
    kind: Literal["user", "email"]
    reason: str
    label: Nullable
    created_at: DateTime
    expires_at: NullableDateTime
    lifted_at: NullableDateTime


@Forbid
class ReaderDataJSON(TypedDict):
    format: Literal["parley-reader-data"]
    version: Literal[1]
    generated_at: DateTime
    reader: ReaderQueryJSON
    account: ReaderAccountJSON | None
    comments: list[ReaderCommentJSON]
    likes_given: Annotated[list[ReaderLikeJSON], Field(description="Likes given while logged in.")]
    notification_addresses: list[ReaderAddressJSON]
    subscriptions: list[ReaderSubscriptionJSON]
    bans: list[ReaderBanJSON]
    accounts_with_this_email: Annotated[list[int], Field(
        description="Other accounts whose provider gave the address asked about (an administrator's export).")]
    notes: Annotated[list[str], Field(description="What is kept in a form that cannot be read back, and why.")]


@Forbid
class ErasedJSON(TypedDict):
    mode: Literal["erase", "anonymise"]
    comments: Annotated[int, Field(description="Their comments: removed, left as placeholders or anonymised.")]
    removed: int
    placeholders: Annotated[int, Field(description="Comments others replied to, left as empty \"deleted\" "
                                                   "placeholders.")]
    anonymised: int
    likes: int
    subscriptions: int
    notification_addresses: int
    emails: Annotated[int, Field(description="Emails to them, waiting or sent, no longer on record.")]
    account: Annotated[int, Field(description="1 once the account is deleted.")]
    sites: Annotated[int, Field(description="Sites that held any of it.")]


@Forbid
class ErrorDetailJSON(TypedDict):
    code: Annotated[str, Field(description="Stable machine-readable reason.")]
    message: Annotated[str, Field(description="What is wrong, in words.")]


@Forbid
class ErrorJSON(TypedDict):
    error: ErrorDetailJSON


@Forbid
class FormTokenJSON(TypedDict):
    form_token: Annotated[str, Field(description="Send with one comment on the site, as form_token.")]
    min_seconds: Annotated[float, Field(description="A comment sent back sooner than this after the token was "
                                                    "issued waits for a moderator: people take longer to write.")]
    expires_in: Annotated[int, Field(description="Seconds the token is good for.")]


@Forbid
class EmbedProblemJSON(TypedDict):
    code: Annotated[str, Field(description="origin_not_allowed, origin_unproven, no_origin or unknown_site.")]
    message: Annotated[str, Field(description="One line for the host page, in words a site's owner understands.")]
    fix: Annotated[str, Field(description="What to change, for the browser's console.")]


@Forbid
class EmbedCheckJSON(TypedDict):
    problem: Annotated[EmbedProblemJSON | None, Field(
        description="Why the comments cannot show on the asking page (its Origin header), or null if they can.")]


REQUESTS = (NewComment, CommentEdit, LoginExchange, ReaderErasure)
RESPONSES = (ThreadPageJSON, RepliesPageJSON, PostedCommentJSON, EditedCommentJSON, LikeStateJSON, CountsJSON,
             MeJSON, LoggedInJSON, LoginWaitingJSON, ReaderDataJSON, ErasedJSON, ErrorJSON, EmbedCheckJSON,
             FormTokenJSON)
