"""The labeling policy: signals + upload context -> Decision.

A policy is a versioned YAML file (`default.yaml` ships with the package):
named thresholds, bank category -> action, sensitive-topic term lists,
reusable predicates and rules whose conditions read named facts. It is checked
on load (errors name the line), and deciding is pure and deterministic.

    policy = load_default_policy()          # or load_policy("site.yaml")
    decision = policy.decide(signals, context)
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from ..signals import BUILTIN_NAMES
from .errors import PolicyError
from .loader import PACKAGE_DIR, load_policy, load_policy_text
from .model import Policy, Rule

DEFAULT_POLICY = PACKAGE_DIR / "default.yaml"
DEFAULT_CASES = PACKAGE_DIR / "default_cases.yaml"


@lru_cache(maxsize=1)
def load_default_policy() -> Policy:
    """The shipped policy; parsed once per process (a Policy is immutable)."""
    return load_policy(DEFAULT_POLICY)


def policy_for(path: str | Path | None, signals: tuple | None = None) -> Policy:
    """The policy file at `path` (an operator's AIGC_POLICY_FILE), else the shipped
    default, checked against the facts of `signals` (default: the built-in three)."""
    if signals is None or tuple(s.name for s in signals) == BUILTIN_NAMES:
        return load_policy(Path(path)) if path else load_default_policy()
    return load_policy(Path(path) if path else DEFAULT_POLICY, signals=signals)


__all__ = [
    "DEFAULT_CASES",
    "DEFAULT_POLICY",
    "Policy",
    "PolicyError",
    "Rule",
    "load_default_policy",
    "load_policy",
    "load_policy_text",
    "policy_for",
]
