"""The labeling policy: signals + upload context -> Decision.

This first policy covers the credentials signal only; the policy issue
replaces it with a versioned, file-driven engine behind the same names.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..context import UploadContext
from ..decision import Decision, Reason
from ..signals import Signals


@dataclass(frozen=True)
class Policy:
    version: str = "builtin-0.1"

    def decide(self, signals: Signals, context: UploadContext, media: dict | None = None) -> Decision:
        cred = signals.credentials
        reasons: list[Reason] = []
        action, label, source = "none", None, None
        if cred and cred.present and cred.state in ("valid", "trusted") and cred.ai_class in (
            "ai_generated",
            "ai_edited",
        ):
            action, label, source = "label", cred.ai_class, "credentials"
            reasons.append(
                Reason(
                    f"c2pa.{cred.ai_class}",
                    f"Content Credentials ({cred.state}) declare the asset "
                    + ("generated" if cred.ai_class == "ai_generated" else "edited")
                    + " with generative AI.",
                    {"evidence": list(cred.evidence)},
                )
            )
        elif cred and cred.present and cred.state == "invalid" and cred.ai_class in (
            "ai_generated",
            "ai_edited",
            "possibly_ai",
        ):
            action = "require_disclosure"
            reasons.append(
                Reason(
                    "c2pa.invalid_ai_claim",
                    "Content Credentials claim AI involvement but fail validation.",
                    {"failure_codes": list(cred.failure_codes)},
                )
            )
        elif cred and cred.hint_ai_class in ("ai_generated", "ai_edited", "possibly_ai"):
            action = "require_disclosure"
            reasons.append(
                Reason(
                    "metadata_hint",
                    "Unsigned metadata suggests AI generation; it cannot be verified.",
                    {"hints": list(cred.metadata_hints)},
                )
            )
        if not reasons:
            reasons.append(Reason("no_signal", "No AI signal was found."))
        return Decision(
            action=action,
            label=label,
            label_source=source,
            reasons=tuple(reasons),
            policy_version=self.version,
            signals=signals.to_dict(),
            media=dict(media or {}),
        )


def load_default_policy() -> Policy:
    return Policy()


__all__ = ["Policy", "load_default_policy"]
