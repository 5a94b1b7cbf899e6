"""What a bank entry may hold: categories, severities, hashes, bounded text, ids."""

from __future__ import annotations

import matching

from .errors import EntryNotFound, InvalidEntry

CATEGORIES = ("misleading_deepfake", "known_aigc", "manipulated_media")
SEVERITIES = ("low", "medium", "high", "critical")
SOURCES = ("fact_checker", "review_team", "partner")


def check_category(category: str) -> str:
    """The three built-in categories, or an operator-defined snake_case name."""
    if not isinstance(category, str):
        raise InvalidEntry("category is required")
    category = category.strip().lower()
    if not category or len(category) > 64 or not all(c.isalnum() or c == "_" for c in category):
        raise InvalidEntry(
            f"category {category!r} must be 1-64 letters, digits or underscores "
            f"(built in: {', '.join(CATEGORIES)})"
        )
    return category


def check_severity(severity: str | None) -> str | None:
    if severity is None or severity == "":
        return None
    severity = severity.strip().lower()
    if severity not in SEVERITIES:
        raise InvalidEntry(f"severity {severity!r} must be one of {', '.join(SEVERITIES)}")
    return severity


def check_hex(value: str | None, nbytes: int, what: str) -> str | None:
    """A hash as lowercase hex of `nbytes`, None when absent."""
    if value is None or value == "":
        return None
    try:
        return matching.from_hex(value, nbytes, what).hex()
    except matching.InvalidHash as exc:
        raise InvalidEntry(str(exc)) from None


def check_text(value, limit: int, what: str) -> str | None:
    if value is None or value == "":
        return None
    value = str(value)
    if len(value) > limit:
        raise InvalidEntry(f"{what} is longer than {limit} characters")
    return value


def check_quality(quality) -> int | None:
    """A PDQ quality score: an integer within 0..100, None when absent."""
    if quality is None or quality == "":
        return None
    value = int(quality)
    if not 0 <= value <= 100:
        raise InvalidEntry("PDQ quality must be within 0..100")
    return value


def check_id(entry_id) -> int:
    try:
        value = int(entry_id)
    except (TypeError, ValueError):
        raise InvalidEntry(f"entry id must be an integer, got {entry_id!r}") from None
    if value < 1:
        raise EntryNotFound(f"no bank entry {value}")
    return value
