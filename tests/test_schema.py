"""Schemathesis over /api/v1/openapi.json: no server errors, and every answer as the document says.

Every check runs but one: "a request the document allows is accepted". Some refusals depend on
what is stored or on other fields, which a schema cannot state: a reply to a comment that does not
exist, a guest who gives no author, an unknown cursor, a site's own length and link limits. The
opposite check (anything the document forbids is refused) runs in full.
"""
import pytest
import schemathesis
from conftest import ORIGIN
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig

CONFIG = SchemathesisConfig.from_dict({"checks": {
    "positive_data_acceptance": {"enabled": False},
    # Refusing a body past the request size limit with 413 is refusing it.
    "negative_data_rejection": {"expected-statuses": [400, 401, 403, 404, 405, 406, 409, 413, 415, 422]},
}})

OPERATIONS = [
    "GET /threads", "GET /threads/live", "POST /comments", "PATCH /comments/{comment_id}",
    "DELETE /comments/{comment_id}",
    "POST /comments/{comment_id}/like", "DELETE /comments/{comment_id}/like", "GET /comments/{comment_id}/replies",
    "GET /counts", "GET /me", "GET /me/data", "DELETE /me",
    "POST /auth/exchange", "POST /auth/logout", "GET /avatars/{seed}.svg", "GET /openapi.json",
    "GET /comments/{comment_id}/avatar", "GET /embed-check", "GET /form-token",
]


def test_every_operation_of_the_document_is_exercised(client):
    document = client.get("/api/v1/openapi.json").get_json()
    described = {f"{method.upper()} {path}" for path, item in document["paths"].items()
                 for method in item if method != "parameters"}
    assert described == set(OPERATIONS)


# Operations that take input: only these have requests that break the document.
WITH_INPUT = [label for label in OPERATIONS
              if label not in {"GET /me", "GET /me/data", "POST /auth/logout", "GET /openapi.json"}]
CASES = ([(label, GenerationMode.POSITIVE) for label in OPERATIONS]
         + [(label, GenerationMode.NEGATIVE) for label in WITH_INPUT])


@pytest.mark.parametrize("label,mode", CASES, ids=[f"{label} {mode.value}" for label, mode in CASES])
def test_api_answers_as_its_document_says(app, site, post, label, mode):
    post("A comment for the generated requests to find")
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=CONFIG)
    operation = schema.find_operation_by_label(label)

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    def check(case):
        case.call_and_validate(headers={"Origin": ORIGIN})

    check()
