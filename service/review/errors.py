"""The review loop's errors; the HTTP layer maps each to its status."""

from __future__ import annotations


class ReviewError(Exception):
    status = 422
    code = "invalid_request"


class CaseNotFound(ReviewError):
    # also what a fact-checker gets for a case not routed to it: its existence is not revealed
    status = 404
    code = "not_found"


class CaseConflict(ReviewError):
    """The case is not in a state that allows this (decided, claimed by another, raced)."""

    status = 409
    code = "conflict"


class InvalidVerdict(ReviewError):
    status = 422
    code = "invalid_verdict"
