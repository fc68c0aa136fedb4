"""Trust grades of submitted copies: C/D as the holder submits them, B once checked.

A holder uploads a picture of the original licence; it is stamped with grade C (uploaded from
the original) or D (the holder vouches for it) — not anchored, since nobody has checked it.
Window staff who compare it with the original upgrade it to grade B: a new document with the
B wording and a validity end, signed by the agency and anchored, so the check itself can be
verified later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from licence_service.audit import oplog
from licence_service.documents.builder import CheckedCopySpec, build_checked_copy, write_pdf
from licence_service.documents.face import RenderOptions, render_scan_pdf
from licence_service.domain.errors import ConflictError, InvalidInputError, NotFoundError
from licence_service.domain.national_ids import IdentifierError, validate_holder_id
from licence_service.domain.trust_grades import TrustGrade, watermark_text
from licence_service.region.runtime import Runtime
from licence_service.services.anchor_step import anchor
from licence_service.store.models import OutboxEntry, Submission

MAX_IMAGE_BYTES = 10 * 1024 * 1024
MAX_CHECKED_DAYS = 365


@dataclass(frozen=True)
class SubmissionResult:
    submission_id: int
    grade: str
    pdf_path: str
    identifier: str | None = None
    leaf: str | None = None
    valid_until: date | None = None


def _holder_id(value: str) -> str:
    for kind in ("uscc", "citizen_id"):
        try:
            return validate_holder_id(kind, value, "holder_id")
        except IdentifierError:
            continue
    raise InvalidInputError(
        f"holder_id {value!r} is neither a valid citizen ID number nor a unified social "
        "credit code",
        field="holder_id",
    )


def submit_copy(
    rt: Runtime, image: bytes, title: str, holder_name: str, holder_id: str, grade: str
) -> SubmissionResult:
    """Stamp a holder's picture of a licence with grade C or D."""
    if grade not in ("C", "D"):
        raise InvalidInputError("a holder submits grade C or D", field="grade")
    if not image or len(image) > MAX_IMAGE_BYTES:
        raise InvalidInputError("the image is empty or larger than 10 MiB", field="file")
    if not title.strip() or not holder_name.strip():
        raise InvalidInputError("title and holder_name must not be empty", field="title")
    holder = _holder_id(holder_id)
    options = RenderOptions(
        watermark=watermark_text(TrustGrade(grade)), qr_payload=f"{rt.settings.public_url}/verify"
    )
    lines = (("持有人", holder_name), ("证件号码", holder), ("信任等级", grade))
    try:
        pdf = render_scan_pdf(image, title.strip(), options, lines)
    except ValueError as exc:
        raise InvalidInputError(str(exc), field="file") from exc
    with rt.sessions.begin() as s:
        row = Submission(
            title=title.strip(), holder_name=holder_name.strip(), holder_id=holder,
            grade=grade, image=image, pdf_path="",
        )  # fmt: skip
        s.add(row)
        s.flush()
        path = write_pdf(rt.settings.pdf_dir / "submissions", f"submission-{row.id}-{grade}", pdf)
        row.pdf_path = str(path)
        oplog.record(s, "submit", f"submission:{row.id}", grade=grade)
        return SubmissionResult(row.id, grade, str(path))


def upgrade_to_b(
    rt: Runtime, submission_id: int, staff: str, valid_until: date, agency_code: str | None = None
) -> SubmissionResult:
    """Window staff checked the original: issue the grade-B document, signed and anchored."""
    if not staff.strip():
        raise InvalidInputError("staff is empty: who checked the original?", field="staff")
    today = datetime.now(UTC).date()
    if not today < valid_until <= today + timedelta(days=MAX_CHECKED_DAYS):
        raise InvalidInputError(
            f"valid_until must be within the next {MAX_CHECKED_DAYS} days", field="valid_until"
        )
    with rt.sessions.begin() as s:
        row = s.get(Submission, submission_id)
        if row is None:
            raise NotFoundError(f"no submission #{submission_id}", field="submission_id")
        if row.checked_pdf_path is not None:
            raise ConflictError(f"submission #{submission_id} is already grade B", "submission_id")
        agency = rt.agency(s, agency_code)
        now = datetime.now(UTC)
        spec = CheckedCopySpec(
            agency=agency, creds=rt.agency_credentials(agency.code), submission_id=row.id,
            image=row.image, title=row.title, holder_name=row.holder_name,
            holder_id=row.holder_id, staff=staff.strip(),
            checked_at=now.isoformat(timespec="seconds"),
            checked_at_label=now.strftime("%Y-%m-%d %H:%M UTC"), valid_from=today,
            valid_until=valid_until,
        )  # fmt: skip
        doc = build_checked_copy(rt.settings.public_url, spec)
        leaf, identifier = doc.leaf, spec.identifier
        path = write_pdf(rt.settings.pdf_dir / "submissions", f"submission-{row.id}-B", doc.pdf)
        row.checked_pdf_path, row.checked_by, row.checked_until = str(path), staff, valid_until
        row.leaf = leaf.leaf()
        s.add(OutboxEntry.of(leaf, agency.id, submission_id=row.id))
        oplog.record(s, "upgrade:B", identifier, staff=staff.strip())
        result = SubmissionResult(
            row.id, "B", str(path), identifier, leaf.leaf().hex(), valid_until
        )
    anchor(rt, [leaf.leaf().hex()])
    return result
