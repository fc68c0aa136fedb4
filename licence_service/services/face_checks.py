"""Can the face print what is about to be signed? Checked before anything is signed.

The record, the signed metadata and the anchored data root hold every character of a value;
the paper must show each of them. A value with an invisible or direction-changing character
(``domain.printable``), or with a character no font of the chain draws
(``documents.fonts.undrawable``), is refused naming the field and the character; a face
whose rows do not fit the page is refused with the message rendering it would raise. The
API, the desk's form and a bulk import's rows get the same ``FaceTextError`` (422).
"""

from __future__ import annotations

from collections.abc import Mapping

from licence_service.documents.face import HOLDER_LABEL, check_face_rows
from licence_service.documents.fonts import undrawable
from licence_service.domain.errors import FaceTextError
from licence_service.domain.printable import describe, unprintable

__all__ = ["check_face_text", "face_layout_error", "face_text_errors"]


def face_text_errors(values: Mapping[str, str]) -> dict[str, str]:
    """``{field: message}`` for every value that the face could not print as signed."""
    errors: dict[str, str] = {}
    for field, text in values.items():
        problem = unprintable(field, text)
        if problem is None:
            missing = undrawable(text)
            if missing:
                chars = ", ".join(describe(ch) for ch in missing)
                problem = (
                    f"{field} contains {chars}, which no font of the licence face can print "
                    "(it would be signed but printed blank); use the registered form of the "
                    "name without it, or install a font that has it (see README, fonts)"
                )
        if problem is not None:
            errors[field] = problem
    return errors


def check_face_text(values: Mapping[str, str]) -> None:
    """Raise ``FaceTextError`` for the first value :func:`face_text_errors` refuses."""
    for field, message in face_text_errors(values).items():
        raise FaceTextError(message, field=field)


def face_layout_error(
    holder_name: str, id_label: str, holder_id: str, fields: Mapping[str, str]
) -> FaceTextError | None:
    """The error rendering this face would raise because its rows do not fit, if any."""
    try:
        check_face_rows([(HOLDER_LABEL, holder_name), (id_label, holder_id), *fields.items()])
    except FaceTextError as exc:
        return exc
    return None
