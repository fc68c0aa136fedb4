"""A verdict as server-rendered HTML: what the counter page shows before its script runs (or
without JavaScript), in the page's language. The script renders the same facts from the JSON."""

from __future__ import annotations

from html import escape

from licence_service.domain.licence_types import type_name
from verifier.verdicts import Verdict, VerificationResult

ATTENTION = frozenset(
    {Verdict.PENDING, Verdict.SUSPENDED, Verdict.REPORTED_LOST, Verdict.CONFLICTING}
)


def state(verdict: Verdict) -> str:
    """The colour class: ``valid``, ``attention`` (ask, wait or call) or ``invalid``."""
    if verdict is Verdict.VALID:
        return "valid"
    return "attention" if verdict in ATTENTION else "invalid"


def result_html(result: VerificationResult, t: dict[str, str], holder_full: bool = False) -> str:
    """The verdict box's content for ``result`` with the texts ``t``; ``holder_full`` when the
    holder's name is shown in full (to agency staff: see ``pages.holder``)."""
    current = result.extra.get("current_version")
    rows = [
        (t["f_licence"], result.licence_id),
        (t["f_type"], result.type_name or type_name(result.type_code) or result.type_code),
        (t["f_holder_full" if holder_full else "f_holder"], result.holder_name),
        (t["f_issuer"], result.issuer and f"{result.issuer} ({result.issuer_code})"),
        (t["f_region"], result.region),
        (t["f_valid_until"], result.valid_until),
        (t["f_version"], result.version and f"{result.version:03d}"),
        (t["f_current"], current and f"{current:03d}"),
        (t["f_grade"], result.trust_grade and t[f"grade_{result.trust_grade}"]),
        (t["f_anchored"], result.anchored_at and f"{result.anchored_at:%Y-%m-%d %H:%M:%S} UTC"),
        (t["f_block"], result.extra.get("anchor_block")),
        (t["f_batch"], result.batch_id),
        (t["f_tx"], result.anchor_tx),
    ]
    facts = "".join(f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>" for k, v in rows if v)
    checks = "".join(
        f"<tr><td>{'✔' if c.ok else ('✘' if c.ok is False else '?')}</td>"
        f"<td>{escape(c.name)}</td><td>{escape(c.detail)}</td></tr>"
        for c in result.checks
    )
    as_of = ""
    if result.as_of is not None:
        when = f"{result.as_of:%Y-%m-%d %H:%M:%S} UTC"
        as_of = f"<p id='as-of'>{escape(t['as_of'].replace('{t}', when))}</p>"
    note = (
        f"<p id='document-note'>{escape(result.document_note)}</p>" if result.document_note else ""
    )
    cls = state(result.verdict)
    return (
        f"<div class='verdict {cls}' id='verdict' data-verdict='{result.verdict}'>"
        f"<span class='state'>{escape(t['state_' + cls])}</span>"
        f"<span class='code'>{result.verdict} · {escape(t[str(result.verdict)])}</span></div>"
        f"{as_of}{note}<p id='reason'>{escape(result.reason)}</p>"
        f"<table class='facts'>{facts}</table><h2>{escape(t['checks'])}</h2>"
        f"<table id='checks'>{checks}</table>"
    )


def error_html(message: str, t: dict[str, str]) -> str:
    """The verdict box when nothing could be verified (unreadable payload or file)."""
    return (
        "<div class='verdict invalid' id='verdict' data-verdict='ERROR'>"
        f"<span class='state'>{escape(t['cannot_verify'])}</span></div>"
        f"<p id='reason'>{escape(message)}</p>"
    )
