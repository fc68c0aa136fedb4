"""The licence PDF: page layout and drawing, the document builder (commit, sign the QR claims,
render, seal), durable writing, and the CJK font.
"""

from licence_service.documents.builder import (
    BuiltDocument,
    CheckedCopySpec,
    DocumentSpec,
    build_checked_copy,
    build_document,
    pdf_name,
    write_pdf,
)
from licence_service.documents.face import LicenceFace, RenderOptions, render_licence_pdf
from licence_service.documents.fonts import cjk_font_name
from licence_service.documents.scan import render_scan_pdf

__all__ = [
    "BuiltDocument",
    "CheckedCopySpec",
    "DocumentSpec",
    "LicenceFace",
    "RenderOptions",
    "build_checked_copy",
    "build_document",
    "cjk_font_name",
    "pdf_name",
    "render_licence_pdf",
    "render_scan_pdf",
    "write_pdf",
]
