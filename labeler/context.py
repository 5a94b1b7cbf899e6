"""What the uploader and the calling platform tell us besides the media."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


def _split(value) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = value.split(",")
    return tuple(v.strip() for v in value if v and v.strip())


@dataclass(frozen=True)
class UploadContext:
    creator_id: str | None = None
    # None: the creator was not asked; False: the creator declared "no AI"
    creator_disclosed_ai: bool | None = None
    caption: str | None = None
    hashtags: tuple[str, ...] = ()
    sensitive_topics: tuple[str, ...] = ()
    # earlier confirmed violations, when the caller knows them
    creator_history: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> UploadContext:
        data = dict(data or {})
        unknown = set(data) - {f for f in cls.__dataclass_fields__}
        if unknown:
            raise ValueError(f"UploadContext: unknown field(s) {sorted(unknown)}")
        disclosed = data.get("creator_disclosed_ai")
        if isinstance(disclosed, str):
            disclosed = _parse_bool(disclosed)
        history = data.get("creator_history")
        return cls(
            creator_id=data.get("creator_id") or None,
            creator_disclosed_ai=disclosed,
            caption=data.get("caption") or None,
            hashtags=_split(data.get("hashtags")),
            sensitive_topics=_split(data.get("sensitive_topics")),
            creator_history=int(history) if history not in (None, "") else None,
        )


def _parse_bool(text: str) -> bool | None:
    lowered = text.strip().lower()
    if lowered in ("", "none", "null"):
        return None
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise ValueError(f"creator_disclosed_ai must be true or false, not {text!r}")
