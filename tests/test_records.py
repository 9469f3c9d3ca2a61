from datetime import UTC, datetime

import orjson
import pytest

from monitor.records import MAX_DEPTH, MAX_TEXT_CHARS, RecordError, clean_text, json_safe, parse_mention


def _item(**overrides: object) -> dict[str, object]:
    item: dict[str, object] = {
        "source": "trustpilot",
        "external_id": "r-1",
        "text": "Snelle levering, top!",
        "created_at": "2026-11-01T10:00:00Z",
        "author": {"id": "u1", "handle": "anna", "name": "Anna", "followers": 1200},
        "url": "https://example.com/r-1",
        "lang": "nl",
        "rating": 4,
        "engagement": {"likes": 3, "shares": 1, "replies": 0},
        "in_reply_to": None,
        "brand": "Acme",
    }
    item.update(overrides)
    return item


def test_full_record_maps_every_field() -> None:
    record = parse_mention(_item())
    assert record.source == "trustpilot"
    assert record.external_id == "r-1"
    assert record.created_at == datetime(2026, 11, 1, 10, tzinfo=UTC)
    assert record.author.handle == "anna"
    assert record.author.identity_key == "u1"
    assert record.author.reach == 1200
    assert record.author.reach_kind == "followers"
    assert record.engagement == {"likes": 3, "shares": 1, "replies": 0}
    assert record.rating == 4.0
    assert record.brand == "Acme"
    assert record.raw is not None and record.raw["external_id"] == "r-1"


def test_identity_key_falls_back_to_handle() -> None:
    record = parse_mention(_item(author={"handle": "@Anna"}))
    assert record.author.identity_key == "@anna"
    assert record.author.reach is None and record.author.reach_kind == "none"


def test_offsets_are_normalised_to_utc() -> None:
    record = parse_mention(_item(created_at="2026-11-01T11:00:00+01:00"))
    assert record.created_at == datetime(2026, 11, 1, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"source": None}, "'source' is missing"),
        ({"external_id": ""}, "'external_id' is missing"),
        ({"text": None}, "'text' is missing"),
        ({"text": 12}, "'text' must be a string"),
        ({"created_at": "yesterday"}, "is not an ISO 8601 time"),
        ({"created_at": "2026-11-01T10:00:00"}, "has no time zone"),
        ({"created_at": "3026-11-01T10:00:00Z"}, "outside 1990..2200"),
        ({"author": {"name": "no handle"}}, "'handle' is missing"),
        ({"author": "anna"}, "'author' must be an object"),
        ({"rating": 9}, "'rating' must be a number from 1 to 5"),
        ({"rating": "great"}, "'rating' must be a number from 1 to 5"),
        ({"engagement": {"hearts": 3}}, "'engagement.hearts' is unknown"),
        ({"engagement": {"likes": -1}}, "'engagement.likes' must be between 0"),
        ({"engagement": {"likes": "many"}}, "'engagement.likes' must be a whole number"),
        ({"lang": "dutch language"}, "'lang'"),
        ({"url": "javascript:alert(1)"}, "'url' must start with http"),
        ({"text": "x" * (MAX_TEXT_CHARS + 1)}, "the limit is"),
        ({"source": "Not A Source!"}, "'source'"),
    ],
)
def test_bad_fields_name_the_field(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(RecordError, match=message.replace("(", r"\(").replace(".", r"\.")):
        parse_mention(_item(**overrides))


_EMPTY_TEXT = "'text' is empty after removing control characters and whitespace"


@pytest.mark.parametrize(
    "text",
    ["", "   ", " \t\r\n ", "\x00\x01\x1b\x7f", " \x07 \x00 ", "\x85\x80\x9f", "\u200b\u200e\ufeff\u2060"],
)
def test_a_text_of_only_controls_or_whitespace_is_rejected_with_one_reason(text: str) -> None:
    with pytest.raises(RecordError) as raised:
        parse_mention(_item(text=text))
    assert str(raised.value) == _EMPTY_TEXT


def test_not_an_object() -> None:
    with pytest.raises(RecordError, match="must be a JSON object"):
        parse_mention(["a", "list"])


def test_nul_and_controls_are_removed_the_same_way_everywhere() -> None:
    record = parse_mention(_item(text="bad\x00 order\x1b!", author={"handle": "an\x00na"}))
    assert record.text == "bad order!"
    assert record.text_sanitized is True
    assert record.author.handle == "anna"
    assert record.raw is not None and record.raw["text"] == "bad order!"


def test_lone_surrogates_are_replaced() -> None:
    assert clean_text("a\ud800b") == ("a\ufffdb", True)
    assert clean_text("emoji 😀 ok") == ("emoji 😀 ok", False)


def test_json_safe_cuts_nesting_past_the_limit_so_orjson_can_write_it() -> None:
    payload: object = "bottom"
    for _ in range(300):
        payload = {"a": [payload]}
    safe = json_safe(payload)
    orjson.dumps(safe)  # refuses more than 255 levels
    depth, node = 1, safe
    while isinstance(node, dict | list):
        node = node["a"] if isinstance(node, dict) else node[0]
        depth += 1
    assert (depth, node) == (MAX_DEPTH + 1, f"(nested deeper than {MAX_DEPTH} levels: left out)")


def test_a_too_deep_field_is_named() -> None:
    item = _item(extra={"a": [[[{"b": 1}]]]})
    assert parse_mention(item).raw == item  # 6 levels: kept
    nested: object = 1
    for _ in range(MAX_DEPTH - 1):
        nested = [nested]
    assert parse_mention(_item(payload=nested)).raw is not None  # exactly MAX_DEPTH levels
    with pytest.raises(RecordError, match=rf"^'payload' is nested deeper than {MAX_DEPTH} levels"):
        parse_mention(_item(payload=[nested]))
