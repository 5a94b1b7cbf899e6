"""A fourth signal is a few lines: its value, its facts, its gather; the engine does the rest."""

from __future__ import annotations

import io
import pickle
from dataclasses import dataclass

import numpy as np
import pytest
from PIL import Image

from labeler import Engine, Signals
from labeler.policy import PolicyError, load_policy_text
from labeler.signals import BUILTIN_SIGNALS, NUMBER, LocalSignal, SignalFact, SignalValue
from service.cli.policy_cmd import fact_lines


@dataclass(frozen=True)
class FileSize(SignalValue):
    bytes: int = 0


class FileSizeSignal(LocalSignal):
    name = "file"
    value_type = FileSize
    facts = (SignalFact("bytes", NUMBER, "the upload's size in bytes"),)

    def gather(self, media) -> FileSize:
        return FileSize(len(media.data))


POLICY = """
version: "plugin-1"
rules:
  - id: big_file
    when: {fact: file.bytes, gte: 1000}
    then: {action: require_disclosure}
    reason:
      code: file.big
      message: "The file is {file.bytes} bytes."
      evidence: [file.bytes]
"""


def _png(side: int) -> bytes:
    rgb = np.random.default_rng(3).integers(0, 256, (side, side, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def engine() -> Engine:
    plugins = (FileSizeSignal(),)
    signals = (*BUILTIN_SIGNALS, *plugins)
    return Engine(plugins=plugins, policy=load_policy_text(POLICY, signals=signals))


def test_a_rule_on_the_new_fact_fires(engine):
    data = _png(64)
    decision = engine.analyze(data, "a.png")
    assert decision.action == "require_disclosure"
    assert decision.reason_codes == ("file.big",)
    assert decision.reasons[0].evidence == {"file.bytes": len(data)}
    assert decision.signals["file"] == {"bytes": len(data)}
    # the built-in signals' block is as it always was, the new one after them
    assert list(decision.signals) == [
        "credentials",
        "watermark",
        "match",
        "recovered",
        "file",
        "errors",
    ]


def test_the_run_keeps_the_value_and_the_split_pipeline_agrees(engine):
    data = _png(64)
    analysis = engine.run(data, "a.png")
    assert analysis.signals.file == FileSize(len(data))
    assert analysis.signals.get("file") == FileSize(len(data))
    # the service's split: observe in an analysis process, finish in the worker
    _, seen = engine.for_analysis().observe_upload(data, "a.png", engine.shapes("image"))
    seen = pickle.loads(pickle.dumps(seen))
    assert engine.finish(seen).decision == analysis.decision


def test_signals_round_trip_with_the_new_value(engine):
    signals = engine.run(_png(16), "a.png").signals
    assert Signals.from_dict(signals.to_dict(), engine.signals) == signals
    with pytest.raises(ValueError, match="unknown field"):
        Signals.from_dict(signals.to_dict())  # the built-in signals know no "file"


def test_the_fact_is_listed_and_a_typo_still_rejects_the_policy(engine):
    assert any(line.startswith("file.bytes ") for line in fact_lines(engine.signals))
    assert not any(line.startswith("file.") for line in fact_lines())
    with pytest.raises(PolicyError, match="unknown fact 'file.byte'"):
        load_policy_text(
            POLICY.replace("fact: file.bytes", "fact: file.byte"), signals=engine.signals
        )
    with pytest.raises(PolicyError, match="unknown fact 'file.bytes'"):
        load_policy_text(POLICY)  # over the built-in signals alone
