"""Comment counts for index pages."""
import pytest
from conftest import PAGE


def test_counts_for_many_pages_in_one_call(post, client, site, set_site):
    post()
    post(body="two")
    post(url="https://blog.example.com/other")
    set_site("moderation", "all")
    post(url="https://blog.example.com/other", body="pending is not counted")
    response = client.get("/api/v1/counts", query_string=[
        ("site", site), ("url", PAGE + "#comments"), ("url", "https://blog.example.com/other"),
        ("url", "https://blog.example.com/none"),
    ])
    assert response.status_code == 200
    assert response.get_json() == {"counts": {
        PAGE + "#comments": 2, "https://blog.example.com/other": 1, "https://blog.example.com/none": 0,
    }}


@pytest.mark.parametrize("lang, words", [
    ("ru-RU", ["Комментариев пока нет", "1 комментарий", "3 комментария", "5 комментариев"]),
    ("ar", ["لا توجد تعليقات", "تعليق واحد", "3 تعليقات", "5 تعليقات"]),
    ("pl", ["Brak komentarzy", "1 komentarz", "3 komentarze", "5 komentarzy"]),
    ("tlh", ["No Comments", "1 Comment", "3 Comments", "5 Comments"]),
])
def test_counts_are_worded_in_the_language_asked_for(post, client, site, lang, words):
    pages = [f"https://blog.example.com/{n}" for n in range(4)]
    for n, page in enumerate(pages):
        for i in range((0, 1, 3, 5)[n]):
            post(url=page, body=f"comment {i}")
    query = [("site", site), ("lang", lang), *(("url", page) for page in pages)]
    # Worded by the query alone: the shared cache of public reads keys on the URL, not on headers.
    answer = client.get("/api/v1/counts", query_string=query, headers={"Accept-Language": "de"}).get_json()
    assert answer["counts"] == dict(zip(pages, (0, 1, 3, 5), strict=True))
    assert answer["labels"] == dict(zip(pages, words, strict=True))
    assert "labels" not in client.get("/api/v1/counts", query_string=query[:1] + query[2:]).get_json()


def test_counts_take_up_to_100_urls(client, site):
    urls = [("url", f"https://blog.example.com/p{i}") for i in range(100)]
    ok = client.get("/api/v1/counts", query_string=[("site", site)] + urls)
    assert ok.status_code == 200 and len(ok.get_json()["counts"]) == 100
    too_many = client.get("/api/v1/counts", query_string=[("site", site)] + urls + [("url", "https://b/x")])
    assert too_many.status_code == 400
    assert too_many.get_json()["error"]["code"] == "too_many_urls"


def test_counts_of_other_sites_are_not_mixed_in(post, client, runner):
    post()
    runner.invoke(args=["site", "add", "other", "--name", "Other", "--origin", "https://other.example"])
    response = client.get("/api/v1/counts", query_string={"site": "other", "url": PAGE})
    assert response.get_json() == {"counts": {PAGE: 0}}


def test_counts_need_a_site_and_urls(client, site):
    assert client.get("/api/v1/counts", query_string={"url": PAGE}).status_code == 400
    assert client.get("/api/v1/counts", query_string={"site": "nope", "url": PAGE}).status_code == 404
    missing = client.get("/api/v1/counts", query_string={"site": site})
    assert missing.status_code == 400 and missing.get_json()["error"]["code"] == "missing_url"
    bad = client.get("/api/v1/counts", query_string={"site": site, "url": "javascript:alert(1)"})
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "invalid_url"


def test_an_unknown_site_is_said_before_a_bad_url(client):
    response = client.get("/api/v1/counts", query_string={"site": "ghost", "url": "not a url " + "Ω" * 80})
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "unknown_site"
