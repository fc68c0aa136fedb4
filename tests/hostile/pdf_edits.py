"""Low-level edits of a signed licence PDF that the hostile shapes are built from.

Each helper takes real bytes and returns new bytes; none of them knows about licences. They
use pyHanko's incremental writer (what an attacker with any PDF library would do) or edit
bytes in place (what an attacker with a hex editor would do).
"""

from __future__ import annotations

import re
from io import BytesIO

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader

BYTE_RANGE = re.compile(rb"/ByteRange\s*\[([^\]]*)\]")


def byte_range(pdf: bytes) -> tuple[int, int, int, int]:
    """The last signature's ``/ByteRange`` as written in the file."""
    found = list(BYTE_RANGE.finditer(pdf))
    assert found, "no /ByteRange in the file"
    a, b, c, d = (int(v) for v in found[-1].group(1).split())
    return a, b, c, d


def with_byte_range(pdf: bytes, values: str) -> bytes:
    """Rewrite the last ``/ByteRange`` array in place to ``values`` (same length, so every
    offset in the file stays put; the array is padded with spaces)."""
    found = list(BYTE_RANGE.finditer(pdf))[-1]
    inner = found.group(1)
    new = values.encode("ascii")
    assert len(new) <= len(inner), f"{values!r} does not fit in {inner!r}"
    new = new.ljust(len(inner), b" ")
    return pdf[: found.start(1)] + new + pdf[found.end(1) :]


def unsigned_original(pdf: bytes) -> bytes:
    """The file as it was before its signature revision was appended: everything up to the
    ``%%EOF`` that precedes the signature's ``/ByteRange``."""
    start = list(BYTE_RANGE.finditer(pdf))[-1].start()
    end = pdf.rfind(b"%%EOF", 0, start) + len(b"%%EOF")
    if pdf[end : end + 1] == b"\n":
        end += 1
    return pdf[:end]


def _writer(pdf: bytes) -> IncrementalPdfFileWriter:
    return IncrementalPdfFileWriter(BytesIO(pdf), strict=False)


def _out(writer: IncrementalPdfFileWriter) -> bytes:
    buf = BytesIO()
    writer.write(buf)
    return buf.getvalue()


def _stream(writer: IncrementalPdfFileWriter, content: bytes) -> generic.IndirectObject:
    return writer.add_object(generic.StreamObject(stream_data=content))


def draw_over_face(pdf: bytes, content: bytes) -> bytes:
    """An incremental update that appends ``content`` to the first page's drawing."""
    w = _writer(pdf)
    w.add_stream_to_page(0, _stream(w, content))
    return _out(w)


def _first_page(
    w: IncrementalPdfFileWriter,
) -> tuple[generic.DictionaryObject, generic.IndirectObject]:
    page_ref = w.root["/Pages"]["/Kids"].raw_get(0)
    return page_ref.get_object(), page_ref


def add_annotation(pdf: bytes, annotation: dict[str, generic.PdfObject]) -> bytes:
    """An incremental update adding one annotation to the first page (and, for a widget, to
    the form)."""
    w = _writer(pdf)
    page, page_ref = _first_page(w)
    annot = generic.DictionaryObject(
        {generic.NameObject(k): v for k, v in annotation.items()}
        | {generic.NameObject("/P"): page_ref}
    )
    ref = w.add_object(annot)
    annots = page.get("/Annots")
    annots = annots.get_object() if annots is not None else generic.ArrayObject()
    annots = generic.ArrayObject([*annots, ref])
    page[generic.NameObject("/Annots")] = annots
    w.update_container(page)
    if annotation.get("/Subtype") == generic.NameObject("/Widget"):
        form = w.root["/AcroForm"]
        fields = generic.ArrayObject([*form["/Fields"], ref])
        form[generic.NameObject("/Fields")] = fields
        w.update_container(form)
    return _out(w)


def replace_attachment(pdf: bytes, name: str, payload: bytes) -> bytes:
    """An incremental update that points attachment ``name`` at new bytes (the metadata an
    attacker would like the verifier to read)."""
    w = _writer(pdf)
    names = w.root["/Names"]["/EmbeddedFiles"]["/Names"]
    for i in range(0, len(names) - 1, 2):
        if str(names[i]) == name:
            spec = names[i + 1].get_object()
            ef_ref = _stream(w, payload)
            spec[generic.NameObject("/EF")] = generic.DictionaryObject(
                {generic.NameObject("/F"): ef_ref, generic.NameObject("/UF"): ef_ref}
            )
            w.update_container(spec)
            return _out(w)
    raise AssertionError(f"no attachment {name!r}")


def set_info(pdf: bytes, title: str) -> bytes:
    """An incremental update changing the document information dictionary."""
    w = _writer(pdf)
    w.set_custom_trailer_entry(
        generic.NameObject("/Info"),
        w.add_object(
            generic.DictionaryObject(
                {generic.NameObject("/Title"): generic.TextStringObject(title)}
            )
        ),
    )
    return _out(w)


def prepare_shadow(pdf: bytes) -> tuple[bytes, int, int]:
    """Add, to an *unsigned* file, an overlay form XObject and a replacement page content that
    nothing draws yet (invisible to whoever signs). Returns the file and the object numbers of
    the overlay and the replacement, for the switch after signing."""
    w = _writer(pdf)
    page, _ = _first_page(w)
    overlay = w.add_object(
        generic.StreamObject(
            {
                generic.NameObject("/Type"): generic.NameObject("/XObject"),
                generic.NameObject("/Subtype"): generic.NameObject("/Form"),
                generic.NameObject("/BBox"): generic.ArrayObject(
                    [generic.NumberObject(v) for v in (0, 0, 595, 842)]
                ),
            },
            stream_data=b"1 1 1 rg 60 300 480 400 re f",
        )
    )
    resources = page["/Resources"]
    xobjects = resources.get("/XObject")
    xobjects = xobjects.get_object() if xobjects is not None else generic.DictionaryObject()
    xobjects[generic.NameObject("/Shadow")] = overlay
    resources[generic.NameObject("/XObject")] = xobjects
    w.update_container(page)
    replacement = _stream(w, b"0 0 0 rg 100 400 300 40 re f")
    return _out(w), overlay.idnum, replacement.idnum


def switch_shadow(pdf: bytes, hide: bool, replacement: int | None) -> bytes:
    """After signing: draw the prepared overlay (hide), point the page at the prepared
    replacement content (replace), or both."""
    w = _writer(pdf)
    page, _ = _first_page(w)
    if replacement is not None:
        page[generic.NameObject("/Contents")] = generic.IndirectObject(replacement, 0, w)
        w.update_container(page)
    if hide:
        w.add_stream_to_page(0, _stream(w, b"q /Shadow Do Q"))
    return _out(w)


def signature_count(pdf: bytes) -> int:
    return len(PdfFileReader(BytesIO(pdf)).embedded_signatures)


def tiny_pdf(catalog: bytes, prev_loop: bool = False) -> bytes:
    """A hand-written one-object PDF whose object 1 (the catalog) is ``catalog``; with
    ``prev_loop`` the trailer's ``/Prev`` points back at its own cross-reference table."""
    head = b"%PDF-1.7\n"
    body = b"1 0 obj\n" + catalog + b"\nendobj\n"
    xref_at = len(head) + len(body)
    xref = b"xref\n0 2\n0000000000 65535 f \n%010d 00000 n \n" % len(head)
    prev = b"/Prev %d" % xref_at if prev_loop else b""
    trailer = b"trailer\n<</Root 1 0 R/Size 2" + prev + b">>\nstartxref\n%d\n%%%%EOF\n" % xref_at
    return head + body + xref + trailer
