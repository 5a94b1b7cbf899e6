"""The ingredient chain of a manifest store, one entry per manifest (as Inspect shows it).

The active manifest comes first; each ingredient that carries its own manifest
follows, depth-first, with the relationship that links it to its parent.
Each entry says who signed, when, with which tool, which actions and AI
declarations it holds, and its own validation state.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .declarations import actions_of, ai_declarations
from .sourcetypes import GENAI_DST, dst_uri, short_dst
from .verdict import IDENTITY_PREFIX, UNTRUSTED, describe

# A hostile store could nest ingredients without end; a chain this deep is not real.
MAX_DEPTH = 32


@dataclass(frozen=True)
class ChainEntry:
    label: str
    title: str | None
    depth: int
    relationship: str | None  # how it is an ingredient of the entry above (None: active)
    signer: str | None
    time: str | None
    claim_generator: str | None
    actions: tuple[str, ...]
    ai: tuple[str, ...]
    state: str | None
    state_text: str
    failures: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return asdict(self)


def signer_text(info: dict | None) -> str | None:
    if not info:
        return None
    cn, issuer = info.get("common_name"), info.get("issuer")
    return f"{cn} (issued by {issuer})" if cn and issuer else (cn or issuer)


def generator(manifest: dict) -> str | None:
    if manifest.get("claim_generator"):
        return manifest["claim_generator"]
    info = manifest.get("claim_generator_info") or ()
    parts = [f"{i.get('name', '')} {i.get('version', '')}".strip() for i in info if i]
    return ", ".join(p for p in parts if p) or None


def signing_time(manifest: dict) -> str | None:
    """The time-stamp's time; else the time the claim's first action says (unattested)."""
    info = manifest.get("signature_info") or {}
    if info.get("time"):
        return info["time"]
    for action in actions_of(manifest):
        if action.get("when"):
            return str(action["when"])
    return None


def action_lines(manifest: dict) -> tuple[str, ...]:
    out = []
    for action in actions_of(manifest):
        name = str(action.get("action") or "?")
        dst = short_dst(action.get("digitalSourceType"))
        agent = action.get("softwareAgent")
        if isinstance(agent, dict):
            agent = agent.get("name")
        extra = ", ".join(x for x in (dst, agent) if x)
        out.append(f"{name} ({extra})" if extra else name)
    return tuple(out)


def build_chain(
    store: dict, active_state: str | None, trusted_by: str | None
) -> tuple[ChainEntry, ...]:
    manifests = store.get("manifests") or {}
    active = store.get("active_manifest")
    if active not in manifests:
        return ()
    failures = tuple(
        f.get("code", "?")
        for f in ((store.get("validation_results") or {}).get("activeManifest") or {}).get(
            "failure"
        )
        or ()
    )
    out: list[ChainEntry] = []
    _walk(manifests, active, None, None, 0, (active_state, trusted_by, failures), out, set())
    return tuple(out)


def _walk(manifests, label, title, relationship, depth, verdict, out, seen) -> None:
    if label in seen or depth > MAX_DEPTH:
        return
    seen.add(label)
    manifest = manifests[label]
    state, trusted_by, failures = verdict
    out.append(
        ChainEntry(
            label=label,
            title=title or manifest.get("title"),
            depth=depth,
            relationship=relationship,
            signer=signer_text(manifest.get("signature_info")),
            time=signing_time(manifest),
            claim_generator=generator(manifest),
            actions=action_lines(manifest),
            ai=ai_declarations(manifest),
            state=state,
            state_text=describe(state, trusted_by, failures),
            failures=failures,
        )
    )
    for ing in manifest.get("ingredients") or ():
        child = ing.get("active_manifest")
        if child in manifests:
            child_verdict = _ingredient_verdict(ing)
            _walk(
                manifests,
                child,
                ing.get("title"),
                ing.get("relationship") or "componentOf",
                depth + 1,
                child_verdict,
                out,
                seen,
            )


def _ingredient_verdict(ing: dict) -> tuple[str | None, str | None, tuple[str, ...]]:
    """An ingredient's own state from the results recorded for it when it was read."""
    own = (ing.get("validation_results") or {}).get("activeManifest") or {}
    failures = [f.get("code", "?") for f in own.get("failure") or ()]
    successes = [s.get("code", "?") for s in own.get("success") or ()]
    for status in ing.get("validation_status") or ():
        code = status.get("code", "")
        if not code.endswith((".match", ".validated", ".trusted", ".insideValidity")):
            failures.append(code)
        else:
            successes.append(code)
    real = [c for c in failures if c != UNTRUSTED and not c.startswith(IDENTITY_PREFIX)]
    if real:
        state = "invalid"
    elif "signingCredential.trusted" in successes:
        state = "trusted"
    else:
        state = "valid"
    return state, None, tuple(failures)


def ai_tool(store: dict) -> str | None:
    """The tool that made the AI part, for "Content Credentials from Adobe Firefly".

    The software agent of the first action declaring a GenAI source type,
    active manifest first; else the claim generator of that manifest.
    """
    manifests = store.get("manifests") or {}
    order = [store.get("active_manifest"), *manifests]
    fallback = None
    for label in dict.fromkeys(order):
        manifest = manifests.get(label)
        if not manifest:
            continue
        for action in actions_of(manifest):
            if dst_uri(action.get("digitalSourceType")) not in GENAI_DST:
                continue
            agent = action.get("softwareAgent")
            if isinstance(agent, dict):
                agent = agent.get("name")
            if agent:
                return str(agent)
            fallback = fallback or _product(manifest)
    return fallback


def _product(manifest: dict) -> str | None:
    info = manifest.get("claim_generator_info") or ()
    if info and isinstance(info[0], dict) and info[0].get("name"):
        return str(info[0]["name"])
    return generator(manifest)
