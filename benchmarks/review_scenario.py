"""The review loop end to end on a real server, and the queue at 10^5 open cases.

    .venv/bin/python benchmarks/review_scenario.py [--cases 100000] [--requests 200]

1. An AI image with Content Credentials (samples/ai_generated_credentials.jpg)
   and an election caption is scanned: `escalate`, a case opens.
2. A reviewer claims it and decides `confirmed_misleading`: the media goes into
   the bank, confirmed, severity high.
3. 20 re-uploads made here with Pillow (crops, screenshots on a phone-sized
   canvas with bars and text, re-encodes, resizes): the credentials are gone,
   each must come back `remove`.
4. Another AI image on the same topic is escalated, then `cleared` (with a
   negative-bank entry): the same media and a re-encode of it no longer escalate.
5. 10^5 open cases are inserted directly into the database; GET /v1/cases is
   timed (the first page, a topic filter, a priority filter, a deep page).

Everything runs against `aigc serve` in a subprocess on 127.0.0.1 with a SQLite
file, as a default installation does.
"""

from __future__ import annotations

import argparse
import io
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import _live  # this folder, first on sys.path for a script  # isort: skip

_live.use_packages()  # benchmarks/matching.py must not shadow the matching package

import httpx  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

SAMPLES = _live.ROOT / "samples"
CAPTION = "Breaking: ballot boxes burned before the election"


def _jpeg(img: Image.Image, quality: int = 85) -> bytes:
    out = io.BytesIO()
    img.convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


def _screenshot(img: Image.Image, scale: float, dark: bool) -> Image.Image:
    """The picture as a phone screenshot: scaled, on a canvas with bars and text."""
    w, h = img.size
    shown = img.resize((int(w * scale), int(h * scale)), Image.Resampling.BICUBIC)
    canvas = Image.new(
        "RGB", (shown.width + 40, shown.height + 260), (18, 18, 18) if dark else "white"
    )
    canvas.paste(shown, (20, 150))
    draw = ImageDraw.Draw(canvas)
    ink = "white" if dark else "black"
    draw.rectangle((0, 0, canvas.width, 40), fill=(40, 40, 40) if dark else (230, 230, 230))
    draw.text((20, 60), "@someone  ·  2 h", fill=ink)
    draw.text((20, 95), CAPTION, fill=ink)
    draw.text((20, canvas.height - 80), "12k likes   3k shares", fill=ink)
    return canvas


def variants(data: bytes) -> list[tuple[str, bytes]]:
    """Twenty re-uploads of one image, as people re-share it."""
    img = Image.open(io.BytesIO(data)).convert("RGB")
    w, h = img.size
    out: list[tuple[str, bytes]] = []
    for name, box in (
        ("crop 90% centre", (0.05, 0.05, 0.95, 0.95)),
        ("crop 80% centre", (0.10, 0.10, 0.90, 0.90)),
        ("crop top-left 85%", (0.0, 0.0, 0.85, 0.85)),
        ("crop bottom-right 85%", (0.15, 0.15, 1.0, 1.0)),
        ("crop wide 95x80", (0.02, 0.10, 0.97, 0.90)),
        ("crop tall 80x95", (0.10, 0.02, 0.90, 0.97)),
    ):
        cut = img.crop((int(box[0] * w), int(box[1] * h), int(box[2] * w), int(box[3] * h)))
        out.append((name, _jpeg(cut)))
    for scale, dark in ((1.0, False), (2.0, False), (1.5, True), (3.0, True)):
        shot = _screenshot(img, scale, dark)
        tone = "dark" if dark else "light"
        out.append((f"screenshot x{scale:g} {tone}", _png(shot)))
    for quality in (95, 70, 50, 30):
        out.append((f"re-encode JPEG q{quality}", _jpeg(img, quality)))
    webp = io.BytesIO()
    img.save(webp, "WEBP", quality=60)
    out.append(("re-encode WebP q60", webp.getvalue()))
    out.append(("re-encode PNG", _png(img)))
    out.append(("resize 50%", _jpeg(img.resize((w // 2, h // 2)))))
    out.append(("resize 200%", _jpeg(img.resize((w * 2, h * 2), Image.Resampling.LANCZOS))))
    out.append(("grayscale", _jpeg(img.convert("L"))))
    out.append(("mirror", _jpeg(img.transpose(Image.Transpose.FLIP_LEFT_RIGHT))))
    return out


def _png(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def scan(client: httpx.Client, key: str, data: bytes, caption: str | None = None) -> dict:
    fields = {"caption": caption, "creator_id": "creator-42"} if caption else {}
    response = client.post(
        "/v1/scan",
        headers={"Authorization": f"Bearer {key}"},
        files={"file": ("upload", data)},
        data=fields,
    )
    response.raise_for_status()
    return response.json()


def decide(client: httpx.Client, key: str, case_id: str, verdict: str) -> dict:
    auth = {"Authorization": f"Bearer {key}"}
    client.post(f"/v1/cases/{case_id}/claim", headers=auth).raise_for_status()
    body = {"verdict": verdict, "note": "benchmark", "fact_check_url": "https://fc.example/1"}
    response = client.post(f"/v1/cases/{case_id}/verdict", headers=auth, json=body)
    response.raise_for_status()
    return response.json()


def _row(label: str, result: dict, expected: str) -> tuple[str, str, str, str]:
    decision = result["decision"]
    codes = ",".join(r["code"] for r in decision["reasons"][:2])
    ok = "ok" if decision["action"] == expected else "MISS"
    return label, decision["action"], codes, ok


def scenario(client: httpx.Client, keys: dict[str, str]) -> list[tuple[str, str, str, str]]:
    rows = []
    original = (SAMPLES / "ai_generated_credentials.jpg").read_bytes()
    first = scan(client, keys["pipeline"], original, CAPTION)
    rows.append(_row("original + election caption", first, "escalate"))
    decided = decide(client, keys["reviewer"], first["case_id"], "confirmed_misleading")
    rows.append(
        (
            "verdict confirmed_misleading",
            decided["status"],
            f"bank entry {decided['bank_entry_id']}",
            "ok",
        )
    )
    for name, data in variants(original):
        rows.append(_row(name, scan(client, keys["pipeline"], data), "remove"))
    other = (SAMPLES / "ai_generated_credentials.png").read_bytes()
    second = scan(client, keys["pipeline"], other, CAPTION)
    rows.append(_row("second AI image + caption", second, "escalate"))
    decide(client, keys["reviewer"], second["case_id"], "cleared")
    again = scan(client, keys["pipeline"], other, CAPTION)
    rows.append(_row("cleared media, same bytes", again, "label"))
    reencoded = _jpeg(Image.open(io.BytesIO(other)), 80)
    rows.append(
        _row(
            "cleared media, re-encoded", scan(client, keys["pipeline"], reencoded, CAPTION), "none"
        )
    )
    return rows


def insert_cases(url: str, n: int) -> None:
    """n open cases, as the scan route writes them (no media): the queue's worst day."""
    from sqlalchemy import insert

    from service.db.base import get_engine
    from service.db.cases import CaseRow, CaseTopicRow

    rng = random.Random(7)
    now = datetime.now(UTC)
    topics = ["elections", "public_health", "war", "finance", ""]
    reasons = [{"code": "sensitive_topic.elections", "action": "escalate", "message": "m"}]
    batch, topic_rows = [], []
    engine = get_engine(url)
    with engine.begin() as conn:
        for i in range(n):
            topic = rng.choice(topics)
            batch.append(
                dict(
                    id=uuid.uuid4().hex, kind="upload", retroactive=False, scan_id=uuid.uuid4().hex,
                    status="open", waiting=True, priority=rng.randint(0, 100),
                    topics=f",{topic}," if topic else "", reasons=reasons, signals={},
                    context={"caption": "x", "creator_id": f"c-{i % 5000}"}, decision={},
                    creator_id=f"c-{i % 5000}", deciders=[], appeals=0, version=1,
                    created_at=now - timedelta(seconds=i), updated_at=now,
                )
            )  # fmt: skip
            if topic:
                row = batch[-1]
                topic_rows.append(
                    dict(case_id=row["id"], topic=topic, waiting=True,
                         priority=row["priority"], created_at=row["created_at"])
                )  # fmt: skip
            if len(batch) == 5000:
                conn.execute(insert(CaseRow), batch)
                conn.execute(insert(CaseTopicRow), topic_rows)
                batch, topic_rows = [], []
        if batch:
            conn.execute(insert(CaseRow), batch)
            conn.execute(insert(CaseTopicRow), topic_rows)


def time_queue(client: httpx.Client, key: str, requests: int) -> list[tuple[str, str, str, str]]:
    auth = {"Authorization": f"Bearer {key}"}
    rows = []
    for label, params in (
        ("first page (50)", {}),
        ("topic=elections", {"topic": "elections"}),
        ("priority>=90", {"priority": 90}),
        ("page 20", {"page": 20}),
    ):
        times = []
        total = 0
        for _ in range(requests):
            started = time.perf_counter()
            response = client.get("/v1/cases", headers=auth, params=params)
            times.append(time.perf_counter() - started)
            response.raise_for_status()
            total = response.json()["total"]
        rows.append(
            (label, str(total), _live.ms(_live.pct(times, 0.5)), _live.ms(_live.pct(times, 0.99)))
        )
    return rows


def table(title: str, header: tuple[str, ...], rows) -> None:
    widths = [max(len(str(r[i])) for r in (header, *rows)) for i in range(len(header))]
    print(f"\n{title}")
    for r in (header, ["-" * w for w in widths], *rows):
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    from service.db.keys import create_key
    from service.db.migrations import ensure_schema

    with tempfile.TemporaryDirectory(prefix="aigc-review-") as tmp:
        folder = Path(tmp)
        url = f"sqlite:///{folder / 'review.db'}"
        ensure_schema(url)
        keys = {
            "pipeline": create_key("pipeline", url=url)[1],
            "reviewer": create_key("reviewer", url=url, organisation="Trust & Safety")[1],
        }
        server = _live.start_server(folder, {"AIGC_DATABASE_URL": url})
        try:
            with httpx.Client(base_url=server.base, timeout=60) as client:
                rows = scenario(client, keys)
                removed = sum(1 for r in rows[2:22] if r[1] == "remove")
                table(
                    "End to end (real server, SQLite)", ("upload", "action", "reasons", "ok"), rows
                )
                print(f"re-uploads removed: {removed}/20")
                started = time.perf_counter()
                insert_cases(url, args.cases)
                print(
                    f"\ninserted {args.cases} open cases in {time.perf_counter() - started:.1f} s"
                )
                queue = time_queue(client, keys["reviewer"], args.requests)
                table(
                    f"GET /v1/cases with {args.cases} open cases ({args.requests} requests each)",
                    ("query", "total", "p50", "p99"),
                    queue,
                )
        finally:
            server.stop()


if __name__ == "__main__":
    main()
