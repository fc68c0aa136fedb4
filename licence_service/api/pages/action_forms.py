"""The lifecycle actions the licence page offers an issuer of the licence's agency, and their
forms. Each form posts to ``/desk/licences/{id}/act/{action}`` with a required reason; the
first post answers a confirmation page, the second (``confirm=yes``) does it. Which actions are
offered depends on the licence's status; the use cases refuse the others all the same."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from licence_service.api.pages.layout import CSRF, FIELD_PREFIX, error_of, field_input
from licence_service.services.amend import CATEGORIES
from licence_service.services.record_view import LicenceRecord

__all__ = ["ACTIONS", "PageAction", "action_form", "offered"]


@dataclass(frozen=True)
class PageAction:
    """An action of the licence page: the statuses it is offered in and its extra inputs."""

    name: str
    states: frozenset[str]
    inputs: tuple[tuple[str, str], ...] = ()  # (form name, kind) besides the reason


ACTIONS: dict[str, PageAction] = {
    a.name: a
    for a in (
        PageAction("amend", frozenset({"ACTIVE", "REPORTED_LOST"})),
        PageAction("suspend", frozenset({"ACTIVE"})),
        PageAction("reinstate", frozenset({"SUSPENDED"})),
        PageAction("revoke", frozenset({"ACTIVE", "SUSPENDED"})),
        PageAction("cancel", frozenset({"ACTIVE", "SUSPENDED"})),
        PageAction("report-lost", frozenset({"ACTIVE"})),
        PageAction("copy", frozenset({"ACTIVE"}), (("recipient", "text"), ("valid_until", "date"))),
        PageAction("approve", frozenset({"ACTIVE", "SUSPENDED"}), (("review_id", "hidden"),)),
    )
}


def offered(record: LicenceRecord) -> list[PageAction]:
    """The actions that make sense in the licence's current status (approve is separate)."""
    return [a for a in ACTIONS.values() if record.status in a.states and a.name != "approve"]


def _amend_inputs(
    record: LicenceRecord, t: dict[str, str], values: dict[str, str], errors: dict[str, str]
) -> str:
    inputs = []
    for i, (key, value) in enumerate(record.fields.items()):
        shown = values.get(FIELD_PREFIX + key, value)
        inputs.append(field_input(f"amend-f{i}", FIELD_PREFIX + key, key, shown, errors, key=key))
    chosen = values.get("category", "reissue" if record.status == "REPORTED_LOST" else "change")
    options = "".join(
        f"<option value='{c}'{' selected' if c == chosen else ''}>{c} · {escape(label)}</option>"
        for c, label in CATEGORIES.items()
    )
    return (
        f"<div class='field'><label for='amend-category'>{escape(t['desk_category'])}</label>"
        f"<select id='amend-category' name='category'>{options}</select>"
        f"{error_of(errors, 'category', 'amend-category')}</div>{''.join(inputs)}"
    )


def action_form(
    action: PageAction,
    record: LicenceRecord,
    t: dict[str, str],
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> str:
    """The form of ``action`` (open, with the values and errors, when it is being corrected)."""
    values, errors = values or {}, errors or {}
    name = action.name
    extra = _amend_inputs(record, t, values, errors) if name == "amend" else ""
    for key, kind in action.inputs:
        if kind == "hidden":
            extra += f"<input type='hidden' name='{key}' value='{escape(values.get(key, ''))}'>"
        else:
            extra += field_input(f"{name}-{key}", key, t[f"act_{key}"], values.get(key, ""),
                                 errors, kind=kind, required=True)  # fmt: skip
    reason_label = t["act_purpose" if name == "copy" else "act_reason"]
    reason_id = f"{name}-reason"
    bad = " aria-invalid='true'" if "reason" in errors else ""
    open_ = " open" if errors else ""
    return (
        f"<details class='action' id='action-{name}'{open_}><summary>{escape(t['act_' + name])}"
        f"</summary><form method='post' action='/desk/licences/{escape(record.base_id)}/act/"
        f"{name}' class='action-form'>{CSRF}{extra}"
        f"<div class='field'><label for='{reason_id}'>{escape(reason_label)} "
        f"<span aria-hidden='true'>*</span></label><textarea id='{reason_id}' name='reason' "
        f"required aria-describedby='{reason_id}-error'{bad}>{escape(values.get('reason', ''))}"
        f"</textarea>{error_of(errors, 'reason', reason_id)}</div>"
        f"<p><button type='submit' id='{name}-submit'>{escape(t['act_' + name])}…</button></p>"
        "</form></details>"
    )
