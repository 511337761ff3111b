"""The hot routes' own parameter parser: values, defaults, every 422, and its OpenAPI."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.requests import Request

from serving.errors import ApiError
from serving.params import RECOMMENDATIONS, SIMILAR, RecommendationQuery, SimilarQuery
from serving.settings import Settings
from tests.serving.conftest import assert_error, ids

SETTINGS = Settings(redis_url="redis://unused", gc_freeze=False)  # default_k 10, max_k 100
REC = "/v1/customers/c1/recommendations"


def values(query: str) -> dict[str, Any]:
    parsed, errors = RECOMMENDATIONS.parse_query(query.encode("latin-1"), SETTINGS)
    assert errors == [], errors
    return parsed


def errors(query: str) -> list[str]:
    return RECOMMENDATIONS.parse_query(query.encode("latin-1"), SETTINGS)[1]


def request(path_params: dict[str, str], query: str) -> Request:
    scope = {"type": "http", "path_params": path_params, "query_string": query.encode()}
    return Request(scope)


def test_defaults() -> None:
    assert values("") == {
        "k": 10,
        "exclude": frozenset(),
        "category": None,
        "channel": "web",
        "include_purchased": False,
    }
    settings = SETTINGS.model_copy(update={"default_k": 3})
    assert RECOMMENDATIONS.parse_query(b"", settings)[0]["k"] == 3


@pytest.mark.parametrize(
    ("raw", "k"), [("1", 1), ("7", 7), ("%2B5", 5), ("-0%31", None), ("100", 100), ("007", 7)]
)
def test_k_values(raw: str, k: int | None) -> None:
    if k is None:  # "-01": a valid integer, out of range
        assert errors(f"k={raw}") == ["query.k: k == -1, must be between 1 and 100"]
    else:
        assert values(f"k={raw}")["k"] == k


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("0", "query.k: k == 0, must be between 1 and 100"),
        ("-3", "query.k: k == -3, must be between 1 and 100"),
        ("101", "query.k: k == 101, must be between 1 and 100"),
        ("99999999999999999999999", "query.k: k == 99999999999999999999999, must be between"),
        ("abc", "query.k: 'abc' is not an integer"),
        ("1.5", "query.k: '1.5' is not an integer"),
        ("1.0", "query.k: '1.0' is not an integer"),
        ("1_000", "query.k: '1_000' is not an integer"),
        ("1e3", "query.k: '1e3' is not an integer"),
        ("%205", "query.k: ' 5' is not an integer"),
        ("+5", "query.k: ' 5' is not an integer"),  # "+" is a space in a query string
        ("0x10", "query.k: '0x10' is not an integer"),
        ("%D9%A3", "query.k: '٣' is not an integer"),  # an Arabic-Indic digit
        ("", "query.k: '' is not an integer"),
        ("9" * 5000, "query.k: '9999999999999999999999999999999999999...' is not an integer"),
    ],
)
def test_k_errors(raw: str, message: str) -> None:
    (error,) = errors(f"k={raw}")
    assert error.startswith(message), error


def test_max_k_comes_from_the_settings() -> None:
    settings = SETTINGS.model_copy(update={"max_k": 5, "default_k": 2})
    assert RECOMMENDATIONS.parse_query(b"k=5", settings) == (
        {**values(""), "k": 5},
        [],
    )
    assert RECOMMENDATIONS.parse_query(b"k=6", settings)[1] == [
        "query.k: k == 6, must be between 1 and 5"
    ]


def test_a_repeated_single_value_keeps_the_last() -> None:
    assert values("k=3&k=5")["k"] == 5
    assert values("channel=email&channel=web")["channel"] == "web"
    assert errors("k=abc&k=5") == []  # as FastAPI did: only the last value counts


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("exclude=a", {"a"}),
        ("exclude=a,b", {"a", "b"}),
        ("exclude=a&exclude=b", {"a", "b"}),
        ("exclude=a,b&exclude=c&k=3&exclude=d,a", {"a", "b", "c", "d"}),
        ("exclude=%20a%20,%20,b%0A,", {"a", "b"}),  # blanks and empty parts are ignored
        ("exclude=", set()),
        ("exclude=,,,&exclude=", set()),
        ("exclude=i.1:x_y-z", {"i.1:x_y-z"}),
        ("exclude=" + "x" * 128, {"x" * 128}),
    ],
)
def test_exclude_comma_separated_and_or_repeated(query: str, expected: set[str]) -> None:
    assert values(query)["exclude"] == frozenset(expected)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("exclude=ok,bad%20id", "query.exclude: 'bad id' is not a valid id"),
        ("exclude=ok&exclude=a*b", "query.exclude: 'a*b' is not a valid id"),
        ("exclude=" + "x" * 129, "query.exclude: 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...'"),
        ("exclude=%FF%FE", "query.exclude: '\ufffd\ufffd' is not a valid id"),
        ("exclude=i0%0A1", "query.exclude: 'i0\\n1' is not a valid id"),
        ("exclude=" + ",".join(f"x{i}" for i in range(101)), "101 ids, at most 100 allowed"),
        ("exclude=" + "&exclude=".join(f"x{i}" for i in range(101)), "101 ids, at most 100"),
    ],
)
def test_exclude_errors(query: str, message: str) -> None:
    (error,) = errors(query)
    assert error.startswith("query.exclude: ") and message in error, error


def test_exactly_max_ids_excluded_is_fine() -> None:
    query = "exclude=" + ",".join(f"x{i}" for i in range(100))
    assert len(values(query)["exclude"]) == 100


@pytest.mark.parametrize(
    ("raw", "category"),
    [("office", "office"), ("home+garden", "home garden"), ("caf%C3%A9", "café"), ("c" * 128,) * 2],
)
def test_category_values(raw: str, category: str) -> None:
    assert values(f"category={raw}")["category"] == category


@pytest.mark.parametrize("raw", ["", "c" * 129, "a%0Ab", "a%00", "tab%09", "del%7F"])
def test_category_errors(raw: str) -> None:
    (error,) = errors(f"category={raw}")
    assert error.startswith("query.category: ") and "without control characters" in error


@pytest.mark.parametrize("channel", ["web", "email"])
def test_channel_values(channel: str) -> None:
    assert values(f"channel={channel}")["channel"] == channel


@pytest.mark.parametrize("raw", ["sms", "WEB", "Email", "", "web%20"])
def test_unknown_channel_is_an_error(raw: str) -> None:
    (error,) = errors(f"channel={raw}")
    assert error.startswith("query.channel: ") and "must be one of web, email" in error


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        *[(word, True) for word in ("true", "1", "yes", "on", "t", "y", "TRUE", "True", "YES")],
        *[(word, False) for word in ("false", "0", "no", "off", "f", "n", "FALSE", "Off")],
    ],
)
def test_booleans(raw: str, value: bool) -> None:
    assert values(f"include_purchased={raw}")["include_purchased"] is value


@pytest.mark.parametrize("raw", ["maybe", "2", "", "%20true", "truee", "-1", "none"])
def test_boolean_errors(raw: str) -> None:
    (error,) = errors(f"include_purchased={raw}")
    assert error.startswith("query.include_purchased: ") and "is not a boolean" in error


def test_unknown_parameters_are_ignored() -> None:
    assert values("foo=bar&K=0&k=4&&=x&exclude_=y") == {**values(""), "k": 4}


def test_every_bad_parameter_is_reported() -> None:
    assert errors("k=0&channel=sms&include_purchased=maybe&category=") == [
        "query.k: k == 0, must be between 1 and 100",
        "query.category: '' must be 1-128 characters without control characters",
        "query.channel: 'sms' must be one of web, email",
        "query.include_purchased: 'maybe' is not a boolean (true/false, 1/0, yes/no, on/off)",
    ]


def test_parse_gives_the_path_id_and_a_typed_query() -> None:
    customer, query = RECOMMENDATIONS.parse(
        request({"customer_id": "c-1"}, "k=3&exclude=a,b&category=home&channel=email"), SETTINGS
    )
    assert customer == "c-1"
    assert query == RecommendationQuery(3, frozenset({"a", "b"}), "home", "email", False)
    item, similar = SIMILAR.parse(request({"item_id": "i01"}, "k=2&category=ignored"), SETTINGS)
    assert (item, similar) == ("i01", SimilarQuery(2))


def test_parse_reports_path_and_query_errors_together() -> None:
    with pytest.raises(ApiError) as exc:
        RECOMMENDATIONS.parse(request({"customer_id": "bad id"}, "k=x"), SETTINGS)
    assert (exc.value.status, exc.value.code) == (422, "invalid_parameter")
    assert exc.value.message == (
        "path.customer_id: 'bad id' is not a valid id (1-128 characters of letters, digits, "
        ". _ : -); query.k: 'x' is not an integer"
    )
    with pytest.raises(ApiError, match=r"path.item_id: 'i\\n' is not a valid id"):
        SIMILAR.parse(request({"item_id": "i\n"}, ""), SETTINGS)


def test_a_long_message_is_cut() -> None:
    with pytest.raises(ApiError) as exc:
        RECOMMENDATIONS.parse(
            request({"customer_id": "x" * 200}, "k=y&category=&channel=z&include_purchased=w"),
            SETTINGS,
        )
    assert len(exc.value.message) <= 500


# -- through the API -----------------------------------------------------------------------
def test_the_routes_use_the_parser(api: TestClient) -> None:
    body = api.get(REC + "?k=2&k=4&exclude=i05,i08&exclude=i12&include_purchased=0").json()
    assert ids(body) == ["i04", "i07", "i06", "i11"]
    body = api.get(REC + "?k=4&include_purchased=YES&channel=email").json()
    assert ids(body) == ["i04", "i01", "i02", "i05"]
    error = assert_error(api.get(REC + "?k=1.0&channel=sms"), 422, "invalid_parameter")
    assert error["message"] == (
        "query.k: '1.0' is not an integer; query.channel: 'sms' must be one of web, email"
    )
    error = assert_error(api.get("/v1/items/i04/similar?k=0"), 422, "invalid_parameter")
    assert error["message"] == "query.k: k == 0, must be between 1 and 100"
    assert ids(api.get("/v1/items/i04/similar?k=2&unknown=1").json()) == ["i06", "i11"]


def test_openapi_documents_the_parsed_parameters(api: TestClient) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    rec = paths["/v1/customers/{customer_id}/recommendations"]["get"]
    params = {p["name"]: p for p in rec["parameters"]}
    assert list(params) == [
        "customer_id",
        "k",
        "exclude",
        "category",
        "channel",
        "include_purchased",
    ]
    assert params["customer_id"]["in"] == "path" and params["customer_id"]["required"] is True
    assert params["customer_id"]["schema"]["pattern"] == "^[A-Za-z0-9._:-]{1,128}$"
    assert all(params[n]["in"] == "query" and not params[n]["required"] for n in list(params)[1:])
    assert params["k"]["schema"]["type"] == "integer"
    assert params["exclude"]["schema"]["type"] == "array"
    assert params["channel"]["schema"]["enum"] == ["web", "email"]
    assert params["include_purchased"]["schema"] == {
        "type": "boolean",
        "default": False,
        "description": "Merge the customer's buy-again list into the personal rung.",
    }
    assert rec["responses"]["422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorOut"
    }
    similar = paths["/v1/items/{item_id}/similar"]["get"]
    assert [p["name"] for p in similar["parameters"]] == ["item_id", "k"]
    assert set(similar["responses"]) == {"200", "404", "422"}
