"""The batch HTML report at 10^3, 10^4 and 10^5 files: build time, size, Chromium open time.

    python benchmarks/report_scale.py [--sizes 1000,10000,100000] [--no-browser]

Rows are synthetic (the report's cost does not depend on how a decision was
made): 0.8 % escalations, a few percent labels, disclosures, errors and
removals, every file with a small JPEG thumbnail, PDQ hashes random except
for planted near-duplicate groups (one campaign of 300 copies across 150
creators, and many small groups), each copy a few bits away from its
original. "open" is the time from navigation to the page's own first render
(`performance.mark("report-rendered")`) and to the load event, in headless
Chromium (/usr/bin/chromium through Playwright).
"""

from __future__ import annotations

import argparse
import io
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from service.reports.html_report import write_html  # noqa: E402

CHROMIUM = os.environ.get("AIGC_TEST_CHROMIUM", "/usr/bin/chromium")
CAMPAIGN = 300  # copies of the planted campaign
CAMPAIGN_CREATORS = 150


def _jpegs(count: int = 8) -> list[bytes]:
    from PIL import Image

    out = []
    for i in range(count):
        img = Image.new("RGB", (48, 48), (40 * i % 256, 90, 200 - 20 * i))
        for x in range(0, 48, 6):
            for y in range(0, 48, 6):
                img.putpixel((x, y), ((x * 5 + i * 30) % 256, (y * 5) % 256, 128))
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=60)
        out.append(buf.getvalue())
    return out


def _flip(pdq: bytes, bits: int, rng: random.Random) -> bytes:
    value = int.from_bytes(pdq, "big")
    for b in rng.sample(range(256), bits):
        value ^= 1 << b
    return value.to_bytes(32, "big")


def _action(i: int, n: int) -> str:
    slot = i % 1000
    if slot < 8:
        return "escalate"
    if slot < 10:
        return "remove"
    if slot < 60:
        return "label"
    if slot < 80:
        return "require_disclosure"
    if slot < 90:
        return "error"
    return "none"


def _row(i: int, action: str, pdq: bytes, creator: str, thumb: bytes) -> dict:
    if action == "error":
        return {
            "path": f"batch/{i:07d}.bin",
            "status": "error",
            "error_code": "media_undecodable",
            "error_message": "not an image the decoder can read",
            "creator_id": creator,
            "seconds": 0.002,
        }
    signals: dict = {"credentials": {"present": False}, "watermark": None, "match": None}
    reasons = [{"code": "no_signal", "message": "No AI signal was found."}]
    label = None
    if action == "label":
        label = "ai_generated" if i % 2 else "ai_edited"
        reasons = [
            {"code": "c2pa.ai_generated", "message": "Content Credentials (valid) declare AI."}
        ]
        signals["credentials"] = {
            "present": True,
            "state": "valid",
            "signer": f"Generator {i % 7}",
            "ai_class": label,
            "claim_generator": "gen/1.0",
            "failure_codes": [],
        }
        if i % 10 == 0:  # a manifest chain, as the credentials signal may carry one
            signals["credentials"]["chain"] = [
                {
                    "signer": f"Generator {i % 7}",
                    "time": "2026-11-30T10:00:00Z",
                    "claim_generator": "gen/1.0",
                    "actions": ["c2pa.created"],
                    "ai": "trainedAlgorithmicMedia",
                    "state": "valid, untrusted signer",
                },
                {"signer": "Photo editor", "claim_generator": "editor/2", "state": "valid"},
            ]
    elif action == "require_disclosure":
        reasons = [{"code": "metadata_hint", "message": "Unsigned metadata suggests AI."}]
    elif action in ("escalate", "remove"):
        code = "bank.match.misleading_deepfake" if action == "escalate" else "bank.confirmed"
        reasons = [{"code": code, "message": "Matches a known manipulated media entry."}]
        signals["match"] = {
            "matched": True,
            "entry_id": str(1 + i % 40),
            "category": "misleading_deepfake" if i % 3 else "known_aigc",
            "severity": "high",
            "distance": i % 31,
            "hash_type": "pdq",
        }
        if i % 5 == 0:
            signals["watermark"] = {
                "detected": True,
                "owner": "partner-gen",
                "p_value": 1e-9,
                "meaning": "ai_generated",
            }
    return {
        "path": f"batch/{i // 1000:03d}/{i:07d}.jpg",
        "status": "ok",
        "action": action,
        "label": label,
        "reasons": reasons,
        "signals": signals,
        "media": {"kind": "image", "mime": "image/jpeg", "width": 640, "height": 480},
        "sha256": f"{i:064x}",
        "policy_version": "2026.12-3",
        "seconds": 0.05,
        "creator_id": creator,
        "pdq": pdq.hex(),
        "thumbnail": thumb,
        "finished_at": f"2026-12-01T12:{(i // 60) % 60:02d}:{i % 60:02d}+00:00",
    }


def synthetic_rows(n: int, seed: int = 7) -> list[dict]:
    """n report rows; the campaign's copies are the first CAMPAIGN rows after 100."""
    rng = random.Random(seed)
    thumbs = _jpegs()
    campaign = rng.randbytes(32)
    small = [rng.randbytes(32) for _ in range(max(1, n // 200))]
    rows = []
    for i in range(n):
        if 100 <= i < 100 + min(CAMPAIGN, n // 4):
            pdq = _flip(campaign, rng.randint(0, 12), rng)
            creator = f"campaign-{i % CAMPAIGN_CREATORS}"
        elif i % 97 == 0:
            pdq = _flip(small[(i // 97) % len(small)], rng.randint(0, 8), rng)
            creator = f"creator-{i % 5000}"
        else:
            pdq = rng.randbytes(32)
            creator = f"creator-{i % 5000}"
        rows.append(_row(i, _action(i, n), pdq, creator, thumbs[i % len(thumbs)]))
    return rows


def build(rows: list[dict], out: Path) -> float:
    started = time.perf_counter()
    with open(out, "w", encoding="utf-8") as fh:
        write_html(rows, fh, {"id": "bench", "input": "synthetic"})
    return time.perf_counter() - started


def open_times(page, path: Path) -> tuple[float, float]:
    """(seconds to the page's first render, seconds to the load event)."""
    page.goto(path.as_uri(), wait_until="load", timeout=120_000)
    page.wait_for_selector("body[data-ready='true']")
    timing = page.evaluate(
        "() => [performance.getEntriesByName('report-rendered')[0].startTime,"
        " performance.getEntriesByType('navigation')[0].loadEventEnd]"
    )
    return timing[0] / 1000, timing[1] / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"{'rows':>8} {'build s':>8} {'size MB':>8} {'render s':>9} {'load s':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        browser = pw = None
        if not args.no_browser:
            from playwright.sync_api import sync_playwright

            pw = sync_playwright().start()
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            for n in sizes:
                rows = synthetic_rows(n)
                out = Path(tmp) / f"report-{n}.html"
                seconds = build(rows, out)
                size = out.stat().st_size / 1e6
                render = load = float("nan")
                if browser is not None:
                    page = browser.new_page(viewport={"width": 1280, "height": 900})
                    render, load = open_times(page, out)
                    page.close()
                print(f"{n:>8} {seconds:>8.2f} {size:>8.1f} {render:>9.2f} {load:>7.2f}")
        finally:
            if browser is not None:
                browser.close()
                pw.stop()


if __name__ == "__main__":
    main()
