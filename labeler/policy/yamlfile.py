"""YAML read into plain values while keeping the line of every value.

Policy files are written by people; an error has to point at the line. PyYAML
drops node marks once it constructs Python objects, so we compose the node
tree ourselves and convert it, recording each value's line by its path
(`("rules", 3, "then", "action")`). Duplicate keys, which PyYAML silently
merges, are errors here: in a policy they are almost always a typo that would
make one rule quietly shadow another.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .errors import PolicyError

# A policy is a few hundred lines; the caps stop alias bombs ("billion laughs")
# and accidental huge files from hanging a worker that loads one.
MAX_BYTES = 1_000_000
MAX_NODES = 200_000

Path_ = tuple[Any, ...]
_PLAIN_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


@dataclass(frozen=True)
class Document:
    data: Any
    lines: dict[Path_, int]
    source: str

    def line(self, path: Path_) -> int | None:
        """The line of the value at `path`, or of its nearest ancestor."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get(())

    def error(self, path: Path_, reason: str) -> PolicyError:
        return PolicyError(reason, source=self.source, line=self.line(path), where=where(path))


def where(path: Path_) -> str | None:
    """`rules[3].then.action` for ("rules", 3, "then", "action")."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text or None


def read_document(path: str | Path) -> Document:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PolicyError(f"cannot read: {exc.strerror or exc}", source=str(path)) from exc
    return parse_document(raw, str(path))


def parse_document(raw: bytes | str, source: str) -> Document:
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    if len(raw) > MAX_BYTES:
        raise PolicyError(f"file is larger than {MAX_BYTES} bytes", source=source)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyError(f"not UTF-8 text ({exc.reason})", source=source) from exc
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        if exc.context_mark and mark and exc.context_mark.line != mark.line:
            problem += f" (the construct starts at line {exc.context_mark.line + 1})"
        raise PolicyError(f"YAML syntax error: {problem}", source=source, line=line) from exc
    except yaml.YAMLError as exc:
        raise PolicyError(f"YAML error: {exc}", source=source) from exc
    if node is None:
        raise PolicyError("the file is empty", source=source, line=1)
    converter = _Converter(source)
    data = converter.convert(node, ())
    return Document(data=data, lines=converter.lines, source=source)


class _Converter:
    def __init__(self, source: str) -> None:
        self.source = source
        self.lines: dict[Path_, int] = {}
        self.count = 0
        # a throwaway loader only to reuse PyYAML's scalar typing (int, bool, null...)
        self._scalars = yaml.SafeLoader("")

    def convert(self, node: yaml.Node, path: Path_) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise PolicyError(
                f"more than {MAX_NODES} YAML nodes (aliases expanding too far?)",
                source=self.source,
                line=node.start_mark.line + 1,
            )
        self.lines.setdefault(path, node.start_mark.line + 1)
        if not isinstance(node, yaml.ScalarNode) and node.tag not in _PLAIN_TAGS:
            # scalars are typed by the SafeLoader below; collections we build
            # ourselves, so a tag like !!python/object/apply must be refused here
            raise self._error(node, path, f"bad value: tag {node.tag!r} is not allowed")
        if isinstance(node, yaml.MappingNode):
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise self._error(key_node, path, "mapping keys must be plain text")
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise self._error(key_node, path, "YAML merge keys (<<) are not supported")
                key = self._scalar(key_node, path)
                if not isinstance(key, str):
                    key = str(key)
                if key in result:
                    raise self._error(key_node, path + (key,), f"duplicate key {key!r}")
                self.lines[path + (key,)] = key_node.start_mark.line + 1
                result[key] = self.convert(value_node, path + (key,))
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, path + (i,)) for i, item in enumerate(node.value)]
        return self._scalar(node, path)

    def _scalar(self, node: yaml.Node, path: Path_) -> Any:
        try:
            return self._scalars.construct_object(node)
        except yaml.YAMLError as exc:
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise self._error(node, path, f"bad value: {problem}") from exc

    def _error(self, node: yaml.Node, path: Path_, reason: str) -> PolicyError:
        return PolicyError(
            reason, source=self.source, line=node.start_mark.line + 1, where=where(path)
        )
