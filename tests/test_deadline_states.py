"""Issue 22 point 4, deadline cards: the colour rule at its boundaries (exactly two thirds,
just before and after the limit) and the settings that give each kind its limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from licence_service.domain.deadlines import Card, CardKind, CardState, state_at
from licence_service.region.deadline_settings import (
    DEFAULT_LIMITS,
    DeadlineConfigError,
    load_deadline_settings,
    parse_span,
)
from licence_service.region.settings import ConfigError, load_settings

pytestmark = pytest.mark.unit

START = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
US = timedelta(microseconds=1)


@pytest.mark.parametrize(
    ("limit", "elapsed", "state"),
    [
        (timedelta(days=3), timedelta(0), CardState.GREEN),
        (timedelta(days=3), timedelta(days=2) - US, CardState.GREEN),  # just before 2/3
        (timedelta(days=3), timedelta(days=2), CardState.YELLOW),  # exactly 2/3
        (timedelta(days=3), timedelta(days=3) - US, CardState.YELLOW),  # just before the limit
        (timedelta(days=3), timedelta(days=3), CardState.YELLOW),  # at the limit: still in time
        (timedelta(days=3), timedelta(days=3) + US, CardState.RED),  # just after it
        (timedelta(days=400), timedelta(days=4000), CardState.RED),
        # 10 s: two thirds is 6.666666… s, not a whole microsecond
        (timedelta(seconds=10), timedelta(microseconds=6_666_666), CardState.GREEN),
        (timedelta(seconds=10), timedelta(microseconds=6_666_667), CardState.YELLOW),
        (timedelta(seconds=10), timedelta(seconds=10) + US, CardState.RED),
    ],
)
def test_state_at_the_boundaries(limit: timedelta, elapsed: timedelta, state: CardState) -> None:
    assert state_at(START, limit, START + elapsed) is state


def test_a_card_before_its_start_is_green_and_its_times_agree_with_its_state() -> None:
    card = Card(CardKind.REVIEW, "7", "joint review #7", "A", 330100, START, timedelta(seconds=10))
    assert card.state(START - timedelta(days=1)) is CardState.GREEN
    assert card.state(card.yellow_from - US) is CardState.GREEN
    assert card.state(card.yellow_from) is CardState.YELLOW
    assert card.state(card.deadline) is CardState.YELLOW
    assert card.state(card.deadline + US) is CardState.RED
    shown = card.to_json(card.deadline + timedelta(seconds=5))
    assert shown["state"] == "red" and shown["seconds_left"] == -5
    assert shown["deadline"] == (START + timedelta(seconds=10)).isoformat()


def test_limits_are_settings_with_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LIMITS", "CONTACTS", "KEEP_DAYS", "INTERVAL"):
        monkeypatch.delenv(f"LICLEDGER_DEADLINE_{name}", raising=False)
    default = load_deadline_settings()
    assert default.limits == DEFAULT_LIMITS and default.contact_for("X") is None
    assert default.limit(CardKind.REVIEW) == timedelta(days=5)
    monkeypatch.setenv("LICLEDGER_DEADLINE_LIMITS", "review=72h, expiry=60d")
    monkeypatch.setenv(
        "LICLEDGER_DEADLINE_CONTACTS", "*=supervisor@example.cn,11330100002489458u=13800138000"
    )
    found = load_deadline_settings()
    assert found.limit(CardKind.REVIEW) == timedelta(hours=72)
    assert found.limit(CardKind.EXPIRY) == timedelta(days=60)
    assert found.limit(CardKind.CONSENT) == DEFAULT_LIMITS[CardKind.CONSENT]  # untouched
    assert found.contact_for("11330100002489458U") == "13800138000"
    assert found.contact_for("ANOTHER") == "supervisor@example.cn"


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("LIMITS", "review=5", "s, m, h or d"),
        ("LIMITS", "review=0d", "s, m, h or d"),
        ("LIMITS", "reviews=5d", "unknown kind 'reviews'"),
        ("LIMITS", "sharing=5d", "unknown kind 'sharing'"),  # a request carries its own
        ("LIMITS", "review", "NAME=VALUE"),
        ("CONTACTS", "*=supervisor", "phone number"),
        ("CONTACTS", "*=boss@", "e-mail"),
        ("KEEP_DAYS", "-1", "KEEP_DAYS"),
        ("INTERVAL", "0", "INTERVAL"),
    ],
)
def test_a_bad_setting_is_refused_naming_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object, name: str, value: str, said: str
) -> None:
    monkeypatch.setenv(f"LICLEDGER_DEADLINE_{name}", value)
    with pytest.raises(DeadlineConfigError, match=said):
        load_deadline_settings()
    with pytest.raises(ConfigError, match=f"LICLEDGER_DEADLINE_{name}"):
        load_settings(str(tmp_path))


def test_parse_span() -> None:
    assert parse_span("5s", "x") == timedelta(seconds=5)
    assert parse_span(" 30M ", "x") == timedelta(minutes=30)
    with pytest.raises(DeadlineConfigError, match=r"x: '1\.5d'"):
        parse_span("1.5d", "x")
