"""The upload hook's deployment configuration for `service_load.py --hook`, built at run time.

- a watermark key registry file of `keys` TEST-ONLY keys (random, from the seed;
  ids `bench-test-only-N`, owner "benchmark (test only)"; never use them for
  anything else), handed to the server as `AIGC_WATERMARK_KEYS`;
- a bank in the server's database, filled the product's own way before the
  server starts: banked media through `service.bank.add_entry` (what
  `aigc bank add` calls: decode, PDQ + dihedrals + letterbox + pHash + ORB
  features) and random PDQ codes through `service.bank.import_entries` (what
  `aigc bank import` calls, a bare hash list); then `aigc retro run` clears the
  look-back jobs the additions queued, so the server does not run them under load;
- uploads: distinct 2 MP JPEGs (hook_latency.py's `upload_jpeg` mosaics of
  skimage photos that are not in the bank), nothing downloaded.

The views, uploads and registry keys are hook_latency.py's (imported, not copied),
so both benchmarks measure the same configuration.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import _live
import numpy as np

CATEGORY = "misleading_deepfake"


def _hook_latency():
    """hook_latency.py, imported without its thread pins leaking into the servers' env."""
    pins = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    absent = [v for v in pins if v not in os.environ]
    import hook_latency

    for var in absent:
        os.environ.pop(var, None)
    return hook_latency


# imported now, while the caller has this folder on sys.path (service_load.main_hook)
hl = _hook_latency()


@dataclass(frozen=True)
class Deployment:
    url: str
    registry: Path
    keys: int
    media: int
    codes: int
    build: dict[str, float]

    def env(self) -> dict[str, str]:
        return {"AIGC_DATABASE_URL": self.url, "AIGC_WATERMARK_KEYS": str(self.registry)}

    def describe(self) -> str:
        return (
            f"{self.keys} TEST-ONLY watermark keys (registry file), bank of "
            f"{self.media:,} banked media (ORB features) + {self.codes:,} random PDQ codes"
        )


def write_registry(folder: Path, n: int, seed: int) -> Path:
    """A JSON key registry of n TEST-ONLY keys (hook_latency's), key files beside it."""
    keys_dir = folder / "test-keys"
    keys_dir.mkdir(parents=True, exist_ok=True)
    entries = []
    for k in hl.registry(n, seed).keys:
        key_file = keys_dir / f"{k.key_id}.key"
        key_file.write_text(k.key.hex() + "\n")
        key_file.chmod(0o600)
        entries.append(
            {
                "id": k.key_id,
                "owner": k.owner,
                "meaning": k.meaning,
                "key_file": f"test-keys/{key_file.name}",
            }
        )
    path = folder / "test-only-registry.json"
    path.write_text(json.dumps({"keys": entries}, indent=1))
    return path


def fill_bank(url: str, media: int, codes: int, seed: int) -> dict[str, float]:
    """Banked media one by one (`add_entry`), then the codes in one import; wall s of each."""
    from service import bank as bank_store
    from service.db.migrations import ensure_schema

    ensure_schema(url)
    out: dict[str, float] = {}
    t0 = time.perf_counter()
    added, i = 0, 0
    while added < media:
        try:
            bank_store.add_entry(
                _live.jpeg(hl.banked_view(i, seed)),
                filename=f"banked-{i}.jpg",
                category=CATEGORY,
                severity="high",
                source="fact_checker",
                note="service_load benchmark (synthetic)",
                url=url,
            )
            added += 1
        except bank_store.LowQuality:
            # a flat crop (of the page or logo pictures): the bank refuses it, as it should
            pass
        i += 1
    out["media_s"] = time.perf_counter() - t0
    out["media_refused"] = i - added
    rng = np.random.default_rng([seed, 32])
    text = (
        "\n".join(c.tobytes().hex() for c in rng.integers(0, 256, (codes, 32), dtype=np.uint8))
        + "\n"
    )
    t0 = time.perf_counter()
    report = bank_store.import_entries(text, "txt", category=CATEGORY, severity="high", url=url)
    out["codes_s"] = time.perf_counter() - t0
    if report.added != codes or report.errors:
        raise SystemExit(f"bank import: {report}")
    t0 = time.perf_counter()
    env = dict(os.environ, AIGC_DATABASE_URL=url)
    subprocess.run([_live.AIGC, "retro", "run"], env=env, check=True, capture_output=True)
    out["retro_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    bank_store.load_bank(url)
    out["load_s"] = time.perf_counter() - t0
    return out


def build(
    folder: Path, keys: int, media: int, codes: int, seed: int, url: str | None = None
) -> Deployment:
    """The registry and the filled bank (in `url`, default a SQLite file in `folder`)."""
    url = url or f"sqlite:///{folder / 'hook.db'}"
    registry = write_registry(folder, keys, seed)
    figures = fill_bank(url, media, codes, seed)
    return Deployment(url, registry, keys, media, codes, figures)


def uploads(count: int, width: int, height: int, first_seed: int = 0) -> list[bytes]:
    return [hl.upload_jpeg(width, height, first_seed + s) for s in range(count)]


def check_in_process(
    dep: Deployment, datas: list[bytes], timed: int = 30
) -> tuple[dict[str, int], list[float]]:
    """hook_latency's common-path check of each upload against an engine built like the
    server's (same database, same registry file): ({'ok' or what differs: count}, CPU s
    of `Engine.analyze` of the first `timed` uploads, in this process)."""
    from labeler import Engine
    from labeler.signals.credentials import settings_from_env
    from labeler.signals.watermark.keys import load_registry
    from service.db.bank_source import DatabaseBankSource

    engine = Engine(
        credentials=settings_from_env(),
        watermark_keys=load_registry(dep.registry),
        bank=DatabaseBankSource(dep.url),
    )
    seen: dict[str, int] = {}
    for data in datas:
        verdict = hl.check_common_path(engine, data)
        seen[verdict] = seen.get(verdict, 0) + 1
    # the engine's own CPU per upload, to set beside the server's CPU per scan
    cpu = []
    for data in datas[:timed]:
        t0 = time.process_time()
        engine.analyze(data, "upload.jpg")
        cpu.append(time.process_time() - t0)
    return seen, cpu


def off_common_path(body: dict) -> str | None:
    """Why a scan answer is not the common path (credentials, mark, match), None if it is."""
    signals = (body.get("decision") or {}).get("signals") or {}
    credentials = signals.get("credentials") or {}
    watermark = signals.get("watermark")
    match = signals.get("match")
    if credentials.get("present"):
        return "credentials present"
    if watermark is None:
        return "no watermark signal (keys not loaded?)"
    if watermark.get("detected"):
        return "watermark detected"
    if match is None:
        return "no match signal"
    if match.get("matched") or match.get("near_match"):
        return "bank match or near match"
    return None
