"""The licence's own QR encoder against the ``qrcode`` package, module by module.

The encoder (:mod:`licence_service.documents.qr_encode`) precomputes everything that does
not depend on the payload; a slip in a version's template, the block split or the
Reed-Solomon tables would draw a code no phone reads. ``qrcode`` is an independent
implementation of the same standard: for the same bytes, version, level M and mask 4 every
module must agree. (The browser counter test also reads a rendered licence's QR through
poppler and jsQR.)
"""

from __future__ import annotations

import random

import pytest
import qrcode
from qrcode.util import MODE_8BIT_BYTE, QRData

from licence_service.documents.qr_encode import MASK, QrTooLongError, qr_matrix

# lengths around the capacity limits of small versions, and every size class up to 40
LENGTHS = [1, 14, 15, 26, 27, 42, 62, 84, 106, 122, 154, 180, 213, 251, 287, 331, 362,
           412, 450, 504, 560, 624, 666, 711, 779, 857, 911, 997, 1059, 1125, 1190, 1264,
           1370, 1452, 1538, 1628, 1722, 1809, 1911, 1989, 2099, 2213, 2331]  # fmt: skip


def _reference(data: bytes, version: int) -> list[list[int]]:
    code = qrcode.QRCode(
        version=version,
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        border=0,
        mask_pattern=MASK,
    )
    code.add_data(QRData(data, mode=MODE_8BIT_BYTE))
    code.make(fit=False)
    return [[1 if m else 0 for m in row] for row in code.get_matrix()]


@pytest.mark.parametrize("length", LENGTHS)
def test_every_module_matches_an_independent_encoder(length: int) -> None:
    data = random.Random(length).randbytes(length)
    ours = qr_matrix(data)
    version = (len(ours) - 17) // 4
    assert [list(row) for row in ours] == _reference(data, version)


def test_the_smallest_version_that_holds_the_payload_is_chosen() -> None:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    for length in (14, 15, 287, 288, 2331):
        data = b"\xff" * length
        code.clear()
        code.version = None  # type: ignore[assignment]
        code.add_data(QRData(data, mode=MODE_8BIT_BYTE))
        code.make(fit=True)
        assert len(qr_matrix(data)) == code.version * 4 + 17, length


def test_a_payload_beyond_version_40_is_refused_by_name() -> None:
    with pytest.raises(QrTooLongError, match="too long"):
        qr_matrix(b"x" * 2332)
