"""The policy's exception: always names the file, the line and what is wrong."""

from __future__ import annotations

from ..errors import LabelerError


class PolicyError(LabelerError):
    """A policy file, case table or policy input that cannot be used as given."""

    def __init__(
        self,
        reason: str,
        *,
        source: str | None = None,
        line: int | None = None,
        where: str | None = None,
    ) -> None:
        self.reason = reason
        self.source = source
        self.line = line
        self.where = where
        super().__init__(self._format())

    def _format(self) -> str:
        place = self.source or "<policy>"
        if self.line is not None:
            place += f":{self.line}"
        if self.where:
            place += f": {self.where}"
        return f"{place}: {self.reason}"
