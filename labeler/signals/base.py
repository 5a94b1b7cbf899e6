"""What a signal is to the engine: a plug-in with a name, a value and the facts it offers.

In the manner of python-threatexchange's SignalType: the engine holds a tuple
of signals and knows nothing of any one of them. Each signal says

- `name`: its key in `Decision.signals` and the prefix of its facts
  (`watermark.detected`);
- `value_type`: the frozen dataclass it produces (a `SignalValue`, so that it
  round-trips through JSON: `aigc policy explain` runs a policy on stored
  values without any media); an empty instance reads as "nothing found";
- `facts`: what the policy may read of the value, with a kind and one line of
  description each (`aigc policy facts` lists them);
- `source_text`: how the creator is told a label came from it (None: the
  signal never labels on its own);
- how to compute it. A signal that needs only the upload subclasses
  `LocalSignal` and writes `gather(media)`. A signal that also reads a store
  (the match signal reads the bank) splits its work in two, so that the
  costly part can run in an analysis process that has no store:
  `shape(kind)` (in the worker: what the upload's side must know of the
  store), `prepare(media, shape)` (anywhere: plain and picklable) and
  `resolve(prepared)` (in the worker, where the store lives);
  `without_store()` is the copy an analysis process gets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any, Protocol, runtime_checkable

# fact kinds: they drive the policy loader's checks of which operators make sense
BOOL, TEXT, NUMBER, LIST = "bool", "text", "number", "list"


class SignalValue:
    """Mix-in for a signal's frozen dataclass: JSON-friendly in and out."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None):
        if data is None:
            return None
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"{cls.__name__}: unknown field(s) {sorted(unknown)}")
        # tuples keep the dataclasses hashable and comparable after a JSON round trip
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return cls(**values)


@dataclass(frozen=True)
class SignalFact:
    """One fact a signal offers: `field` is the name after the signal's prefix."""

    field: str
    kind: str
    doc: str
    # value -> fact; None: the value's attribute named `field`. A module-level
    # function, not a lambda: the facts travel to analysis processes (pickled)
    get: Callable[[Any], Any] | None = None

    def read(self, value: Any) -> Any:
        return self.get(value) if self.get is not None else getattr(value, self.field)


@runtime_checkable
class Signal(Protocol):
    name: str
    value_type: type
    facts: tuple[SignalFact, ...]
    source_text: str | None

    def gather(self, media) -> Any: ...

    def shape(self, kind: str) -> Any: ...

    def prepare(self, media, shape: Any) -> Any: ...

    def resolve(self, prepared: Any) -> Any: ...

    def without_store(self) -> Signal: ...


class LocalSignal:
    """A signal computed from the upload alone: `prepare` is `gather`, nothing to resolve."""

    name: str
    value_type: type
    facts: tuple[SignalFact, ...] = ()
    source_text: str | None = None

    def gather(self, media) -> Any:
        raise NotImplementedError

    def shape(self, kind: str) -> Any:
        return None

    def prepare(self, media, shape: Any) -> Any:
        return self.gather(media)

    def resolve(self, prepared: Any) -> Any:
        return prepared

    def without_store(self) -> LocalSignal:
        return self


__all__ = ["BOOL", "LIST", "NUMBER", "TEXT", "LocalSignal", "Signal", "SignalFact", "SignalValue"]
