"""The naive issuing pipeline the bulk import is measured against (issue 12).

What a first implementation does: for each licence, draw the page with reportlab from
scratch (CJK font, face rows, QR code from the ``qrcode`` package, a diagonal watermark), sign
it with pyHanko's default signer (which measures the signature with a dry run), write the
file. One process, one licence after the other, no database and no chain: its rate is an
upper bound of the naive pipeline's.
"""

from __future__ import annotations

import os
import time
from io import BytesIO
from pathlib import Path

import qrcode
from pyhanko.keys.internal import (
    translate_pyca_cryptography_cert_to_asn1,
    translate_pyca_cryptography_key_to_asn1,
)
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko_certvalidator.registry import SimpleCertificateStore
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from bench.issue_data import row
from licence_service.documents.fonts import cjk_font_name
from signing.certificates import KeyAndCert


def _qr(c: Canvas, payload: str, x0: float, y0: float, size: float) -> None:
    """The usual way: the ``qrcode`` package (best mask, fitted version), one rect per
    dark module run. (reportlab's own QR widget is several times slower still; the faster
    of the two obvious choices keeps the baseline honest.)"""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    code.add_data(payload)
    code.make(fit=True)
    matrix = code.get_matrix()
    cell = size / len(matrix)
    path = c.beginPath()
    for r, cells in enumerate(matrix):
        for col, dark in enumerate(cells):
            if dark:
                path.rect(x0 + col * cell, y0 + size - (r + 1) * cell, cell, cell)
    c.drawPath(path, stroke=0, fill=1)


def render(values: dict[str, str], font: str, payload: str) -> bytes:
    buffer = BytesIO()
    c = Canvas(buffer, pagesize=A4, initialFontName=font)
    width, height = A4
    c.setFont(font, 26)
    c.drawCentredString(width / 2, height - 45 * mm, "营业执照")
    y = height - 80 * mm
    c.setFont(font, 11)
    for key, value in values.items():
        c.drawString(24 * mm, y, f"{key}:{value}")
        y -= 9 * mm
    _qr(c, payload, width - 55 * mm, 30 * mm, 35 * mm)
    c.saveState()
    c.setFillGray(0.5, 0.2)
    c.translate(width / 2, height / 2)
    c.rotate(35)
    for i in range(-6, 7):
        c.drawCentredString(0, i * 30 * mm, "仅供办理业务使用 · 复制无效 · 杭州市市场监督管理局")
    c.restoreState()
    c.showPage()
    c.save()
    return buffer.getvalue()


def signer(creds: KeyAndCert) -> signers.SimpleSigner:
    registry = SimpleCertificateStore()
    registry.register_multiple(translate_pyca_cryptography_cert_to_asn1(c) for c in creds.chain)
    return signers.SimpleSigner(
        signing_cert=translate_pyca_cryptography_cert_to_asn1(creds.cert),
        signing_key=translate_pyca_cryptography_key_to_asn1(creds.key),
        cert_registry=registry,
    )


def run_naive(creds: KeyAndCert, out_dir: Path, count: int) -> float:
    """Licences per second of the naive pipeline over ``count`` licences."""
    font = cjk_font_name()
    simple = signer(creds)
    meta = signers.PdfSignatureMetadata(field_name="Signature", md_algorithm="sha256")
    out_dir.mkdir(parents=True, exist_ok=True)
    render(row(0), font, "warm-up")  # font parsing happens once in any pipeline
    started = time.perf_counter()
    for n in range(count):
        pdf = render(row(n), font, f"https://verify.example/v/{n:032x}{os.urandom(48).hex()}")
        signed = signers.sign_pdf(IncrementalPdfFileWriter(BytesIO(pdf)), meta, signer=simple)
        path = out_dir / f"naive-{n}.pdf"
        with open(path, "wb") as fh:
            fh.write(signed.getvalue())
            fh.flush()
            os.fsync(fh.fileno())
    return count / (time.perf_counter() - started)
