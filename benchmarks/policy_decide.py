"""Policy speed: the file-driven rule engine beside a hand-written chain of ifs.

Ours: `labeler.policy.load_default_policy().decide` (15 rules over named facts,
predicates, term-list topic detection in five languages, every rule evaluated,
reasons with evidence, the signals copied into the Decision).

Peer: the skeleton's first policy (a chain of ifs over the credentials signal
only, copied below as it was in commit c4a672b). It answers fewer rows, so it
is a floor on what a decision could cost, not an equal.

Inputs: the signals and contexts of the shipped case table
(labeler/policy/default_cases.yaml), cycled; one thread, one core.

    .venv/bin/python benchmarks/policy_decide.py [--decisions 20000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from labeler.context import UploadContext  # noqa: E402
from labeler.decision import Decision, Reason  # noqa: E402
from labeler.policy import DEFAULT_CASES, DEFAULT_POLICY, load_policy  # noqa: E402
from labeler.policy.cases import load_cases  # noqa: E402
from labeler.signals import Signals  # noqa: E402


@dataclass(frozen=True)
class IfChainPolicy:
    """The skeleton's first policy, verbatim apart from this docstring."""

    version: str = "builtin-0.1"

    def decide(self, signals: Signals, context: UploadContext, media=None) -> Decision:
        cred = signals.credentials
        reasons: list[Reason] = []
        action, label, source = "none", None, None
        if (
            cred
            and cred.present
            and cred.state in ("valid", "trusted")
            and cred.ai_class in ("ai_generated", "ai_edited")
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
        elif (
            cred
            and cred.present
            and cred.state == "invalid"
            and cred.ai_class in ("ai_generated", "ai_edited", "possibly_ai")
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


def measure(decide, inputs, n: int) -> list[float]:
    times = []
    clock = time.perf_counter
    for i in range(n):
        signals, context = inputs[i % len(inputs)]
        start = clock()
        decide(signals, context)
        times.append(clock() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=20000)
    args = parser.parse_args()

    start = time.perf_counter()
    policy = load_policy(DEFAULT_POLICY)
    load_ms = (time.perf_counter() - start) * 1000
    inputs = [(c.signals, c.context) for c in load_cases(DEFAULT_CASES)]
    peer = IfChainPolicy()
    for decide in (policy.decide, peer.decide):  # warm-up
        measure(decide, inputs, 500)

    rows = []
    for name, decide in (
        ("ours: YAML rule engine", policy.decide),
        ("peer: if-chain", peer.decide),
    ):
        times = sorted(measure(decide, inputs, args.decisions))
        total = sum(times)
        rows.append(
            (
                name,
                args.decisions / total,
                statistics.median(times) * 1e6,
                times[int(0.99 * (len(times) - 1))] * 1e6,
            )
        )
    print(f"policy decisions: {args.decisions} over {len(inputs)} case-table inputs, one thread")
    print(f"ours: load + validate default.yaml with term lists: {load_ms:.1f} ms")
    print(f"{'implementation':<26} {'decisions/s':>12} {'p50 us':>9} {'p99 us':>9}")
    for name, rate, p50, p99 in rows:
        print(f"{name:<26} {rate:>12,.0f} {p50:>9.1f} {p99:>9.1f}")


if __name__ == "__main__":
    main()
