"""Sensitive-topic detection from the caption and hashtags, by term lists.

Term lists are plain text, one term per line, one file per topic and language
(`topics/elections.nl.txt`), so that people who know a language can maintain
them without touching code. Every list of a topic is applied to every upload:
captions mix languages and guessing the language of a short caption is less
reliable than simply looking for all the terms.

Matching is on whole words after case folding and stripping accents
("élections" == "elections"); a trailing `*` in a term matches any ending
(`verkiezing*`), and a run of digits may follow any term so that hashtags like
#Elections2024 are found.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from .errors import PolicyError

MAX_TERM_CHARS = 80
MAX_TERMS = 20_000
# Captions on the big platforms stop at a few thousand characters and posts at
# a few dozen hashtags; past these caps a hostile caption only costs CPU time.
MAX_CAPTION_CHARS = 10_000
MAX_HASHTAGS = 100
MAX_HASHTAG_CHARS = 200
# a lower-case letter followed by an upper-case one, or an acronym before a word
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def fold(text: str) -> str:
    """Case-folded, accent-free text; the same on both sides of a comparison."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return stripped.casefold()


def topic_key(name: str) -> str:
    """A caller's topic name as a stable code part: `US Elections` -> `us_elections`."""
    key = re.sub(r"[^a-z0-9]+", "_", fold(name)).strip("_")
    return key[:64]


@dataclass(frozen=True)
class Topic:
    name: str
    terms: tuple[str, ...]
    # where the terms came from, for `aigc policy validate` and audits
    sources: tuple[str, ...]
    pattern: re.Pattern[str]

    def find(self, caption: str | None, hashtags: tuple[str, ...]) -> list[str]:
        """Human-readable places where the topic was found, in a stable order."""
        found: list[str] = []
        if caption:
            for term in sorted({m.group(1) for m in self.pattern.finditer(fold(caption))}):
                found.append(f"{self.name}: caption term {term!r}")
        for tag in hashtags:
            # '#tag' and 'tag' alike; #USElections and #us_elections read as words
            bare = tag.strip().lstrip("#")
            words = fold(_CAMEL.sub(" ", bare).replace("_", " "))
            if self.pattern.search(words):
                found.append(f"{self.name}: hashtag #{fold(bare)}")
        return found


def compile_topic(name: str, terms: list[str], sources: tuple[str, ...]) -> Topic:
    unique = tuple(sorted({fold(t) for t in terms}))
    parts = []
    # longest first so that "polling station" wins over "polling"
    for term in sorted(unique, key=len, reverse=True):
        wildcard = term.endswith("*")
        core = term.rstrip("*").strip()
        body = r"[\s_-]*".join(re.escape(w) for w in re.split(r"[\s_-]+", core))
        parts.append(body + (r"\w*" if wildcard else r"\d*"))
    pattern = re.compile(r"(?<!\w)(" + "|".join(parts) + r")(?!\w)")
    return Topic(name=name, terms=unique, sources=sources, pattern=pattern)


def read_term_list(path: Path, *, shown_as: str) -> list[str]:
    """Terms of one file; `#` starts a comment line. Errors name the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"cannot read term list: {exc.strerror or exc}", source=shown_as) from exc
    except UnicodeDecodeError as exc:
        raise PolicyError("term list is not UTF-8 text", source=shown_as) from exc
    terms = []
    for number, line in enumerate(text.splitlines(), start=1):
        term = line.strip()
        if not term or term.startswith("#"):
            continue
        if len(term) > MAX_TERM_CHARS:
            raise PolicyError(
                f"term longer than {MAX_TERM_CHARS} characters", source=shown_as, line=number
            )
        if term.rstrip("*") == "" or "*" in term.rstrip("*"):
            raise PolicyError(
                "'*' is only allowed at the end of a term", source=shown_as, line=number
            )
        if len(fold(term).rstrip("*").strip()) < 3:
            raise PolicyError(
                "term shorter than 3 letters would match too much", source=shown_as, line=number
            )
        terms.append(term)
        if len(terms) > MAX_TERMS:
            raise PolicyError(f"more than {MAX_TERMS} terms", source=shown_as, line=number)
    if not terms:
        raise PolicyError("term list holds no terms", source=shown_as)
    return terms


def detect(
    topics: tuple[Topic, ...],
    caption: str | None,
    hashtags: tuple[str, ...],
    given: tuple[str, ...],
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(topic names, where each was found): the caller's topics plus those detected."""
    names: set[str] = set()
    found: list[str] = []
    caption = caption[:MAX_CAPTION_CHARS] if caption else caption
    hashtags = tuple(tag[:MAX_HASHTAG_CHARS] for tag in hashtags[:MAX_HASHTAGS])
    for name in given:
        key = topic_key(name)
        if key:
            names.add(key)
            found.append(f"{key}: given by the caller")
    for topic in topics:
        places = topic.find(caption, hashtags)
        if places:
            names.add(topic.name)
            found.extend(places)
    return tuple(sorted(names)), tuple(found)
