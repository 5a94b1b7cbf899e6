"""`aigc policy explain | test | validate | facts`: work on a policy without media.

    aigc policy explain --signals signals.json [--context ctx.json] [--policy FILE] [--json]
    aigc policy test [CASES.yaml] [--policy FILE]
    aigc policy validate FILE
    aigc policy facts

Exit codes: 0 success; 1 a case failed (`test`) or the file is invalid
(`validate`); 2 usage error (unreadable or invalid input files).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from labeler.context import UploadContext
from labeler.explain import explain
from labeler.policy import (
    DEFAULT_CASES,
    DEFAULT_POLICY,
    Policy,
    PolicyError,
    load_default_policy,
    load_policy,
)
from labeler.policy.cases import load_cases, run_cases
from labeler.policy.facts import fact_table
from labeler.signals import BUILTIN_SIGNALS, Signal, Signals

from . import app

policy_app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Explain, test and validate labeling policies (no media needed).",
)
app.add_typer(policy_app, name="policy")

POLICY_OPTION = typer.Option(
    None, "--policy", help=f"Policy file (default: the shipped {DEFAULT_POLICY.name})."
)


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _policy(path: Path | None) -> Policy:
    try:
        return load_policy(path) if path else load_default_policy()
    except PolicyError as exc:
        raise _fail(str(exc)) from exc


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise _fail(f"{path}: cannot read {what}: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _fail(f"{path}: {what} is not valid JSON: {exc}") from exc


def _from_dict(cls, data: Any, path: Path | None, what: str):
    """`cls.from_dict(data)` for a JSON object read from `path`; a usage error otherwise."""
    try:
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
        return cls.from_dict(data)
    except (TypeError, ValueError) as exc:
        raise _fail(f"{path}: bad {what}: {exc}") from exc


@policy_app.command("explain")
def explain_cmd(
    signals: Path = typer.Option(
        ...,
        "--signals",
        help="Signals JSON ({credentials, watermark, match, errors}) or an `aigc scan --json` row.",
    ),
    context: Path | None = typer.Option(None, "--context", help="Upload context JSON."),
    policy: Path | None = POLICY_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print the decision and answer as JSON."),
) -> None:
    """Decide on hand-written signals and context, and show what the creator would see."""
    the_policy = _policy(policy)
    data = _read_json(signals, "signals")
    if isinstance(data, dict) and isinstance(data.get("signals"), dict):
        data = data["signals"]  # a row printed by `aigc scan --json`
    the_signals = _from_dict(Signals, data, signals, "signals")
    ctx_data = _read_json(context, "context") if context else {}
    the_context = _from_dict(UploadContext, ctx_data, context, "context")

    decision = the_policy.decide(the_signals, the_context)
    answer = explain(decision)
    if as_json:
        out = {"decision": decision.to_dict(), "creator": answer.to_dict()}
        typer.echo(json.dumps(out, indent=2, default=str))
        return
    label = decision.label or "-"
    if decision.label_source:
        label += f" (from {decision.label_source})"
    typer.echo(f"policy        {decision.policy_version}  ({the_policy.source})")
    typer.echo(f"action        {decision.action}")
    typer.echo(f"label         {label}")
    typer.echo(f"distribution  {decision.distribution}")
    if decision.counts_towards_history:
        typer.echo("history       counts towards the creator's violations once confirmed")
    typer.echo("reasons")
    for reason in decision.reasons:
        rule = f" [rule {reason.rule}: {reason.action}]" if reason.rule else ""
        typer.echo(f"  {reason.code}{rule}")
        typer.echo(f"      {reason.message}")
        for key, value in reason.evidence.items():
            typer.echo(f"      {key}: {json.dumps(value, default=str)}")
    typer.echo("creator sees")
    typer.echo(f"  {answer.headline}")
    for sentence in answer.why:
        typer.echo(f"  - {sentence}")
    _echo_display(decision.display)


def _echo_display(display: dict | None) -> None:
    """The label people are shown (icon, words per language, when, source)."""
    if not display:
        typer.echo("people see    no label")
        return
    when = "at first exposure" if display["first_exposure"] else "on request"
    typer.echo(f"people see    {display['icon']} ({display['icon_meaning']}), {when}")
    typer.echo(f"  source: {display['source']}")
    for lang, text in display["text"].items():
        typer.echo(f"  {lang}: {text}")


@policy_app.command("test")
def test_cmd(
    cases: Path | None = typer.Argument(
        None, help=f"Case table YAML (default: the shipped {DEFAULT_CASES.name})."
    ),
    policy: Path | None = POLICY_OPTION,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print failing cases only."),
) -> None:
    """Run a table of cases against a policy; exit 1 if any case fails."""
    the_policy = _policy(policy)
    try:
        table = load_cases(cases or DEFAULT_CASES)
    except PolicyError as exc:
        raise _fail(str(exc)) from exc
    results = run_cases(the_policy, table)
    failed = [r for r in results if not r.passed]
    for result in results:
        if result.passed:
            if not quiet:
                typer.echo(f"PASS  {result.case.name}")
            continue
        where = f" (line {result.case.line})" if result.case.line else ""
        typer.echo(f"FAIL  {result.case.name}{where}")
        for problem in result.mismatches:
            typer.echo("      " + problem.replace("\n", "\n      "))
    fired = {r.rule for result in results for r in result.decision.reasons}
    unexercised = [rule.id for rule in the_policy.rules if rule.id not in fired]
    if unexercised:
        # not a failure, but a rule no case fires is a rule no case protects
        typer.echo(f"note: no case fires rule(s) {', '.join(unexercised)}")
    typer.echo(
        f"{len(results) - len(failed)} passed, {len(failed)} failed "
        f"(policy {the_policy.version} from {the_policy.source})"
    )
    raise typer.Exit(1 if failed else 0)


@policy_app.command("validate")
def validate_cmd(path: Path = typer.Argument(..., help="Policy file to check.")) -> None:
    """Load a policy file and report the first problem with its line, or a summary."""
    try:
        policy = load_policy(path)
    except PolicyError as exc:
        raise _fail(str(exc), code=1) from exc
    topics = ", ".join(f"{t.name} ({len(t.terms)} terms)" for t in policy.topics) or "none"
    typer.echo(f"OK  {path}: policy {policy.version}")
    typer.echo(f"    rules       {len(policy.rules)}: {', '.join(r.id for r in policy.rules)}")
    typer.echo(f"    predicates  {len(policy.predicates)}")
    typer.echo(f"    thresholds  {policy.thresholds or 'none'}")
    typer.echo(f"    bank        {policy.bank_categories or 'none'}")
    typer.echo(f"    topics      {topics}")
    typer.echo(f"    sha256      {policy.digest}")


def fact_lines(signals: tuple[Signal, ...] = BUILTIN_SIGNALS) -> list[str]:
    """One line per fact a policy over `signals` can use: name, kind, description."""
    table = fact_table(signals)
    width = max(len(name) for name in table)
    return [f"{name:<{width}}  {fact.kind:<6}  {fact.doc}" for name, fact in table.items()]


@policy_app.command("facts")
def facts_cmd() -> None:
    """List the facts a policy's conditions and messages can use."""
    for line in fact_lines():
        typer.echo(line)
