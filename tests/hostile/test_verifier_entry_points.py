"""Issue 11, hostile inputs: every shape of the corpus (``corpus.py``), made from real
anchored licences, through the verifier's own entry points (what the CLI and the API call).
Each gets the verdict named in the corpus or a ``VerificationError`` — never VALID, never
another exception — within the time bound; the genuine originals stay VALID."""

from __future__ import annotations

import tracemalloc
from datetime import datetime
from functools import partial

import pytest

from licence_service.region.runtime import Runtime
from signing.errors import MetadataError
from signing.pdf_metadata import read_metadata
from signing.validation import validate_pdf_signature
from tests.hostile.corpus import Shape, Sources
from tests.hostile.outcomes import assert_all_refused, report, through_verifier
from verifier.engine import METADATA_FILE

# Every family of issue 11's list, by the name prefix of its shapes.
PDF_FAMILIES = (
    "empty", "truncated_", "png", "huge", "encrypted_", "one_byte_range", "gap_too_big",
    "uncovered_tail", "overlapping", "drawn_over_face", "annotation_added", "form_field_added",
    "metadata_replaced", "shadow_hide", "shadow_replace", "shadow_hide_and_replace",
    "second_signature_unknown_key", "other_agency_relabelled", "resaved_pypdf",
)  # fmt: skip
QR_FAMILIES = (
    "qr_garbage", "qr_truncated", "qr_oversized", "qr_forged_signature", "qr_replayed",
    "qr_expired_copy", "qr_high_s_twin", "qr_padded_base64", "qr_reordered_json",
)  # fmt: skip


def test_the_originals_are_valid(hostile_region: Runtime, sources: Sources) -> None:
    """The corpus is made from licences that verify: a refusal below is the edit's doing."""
    v = hostile_region.verifier()
    assert v.verify_pdf(sources.own.pdf).verdict == "VALID"
    assert v.verify_pdf(sources.other.pdf).verdict == "VALID"
    assert v.verify_qr(sources.own.token).verdict == "VALID"
    assert v.verify_qr(sources.copy_token).verdict == "VALID"


def test_every_family_of_the_issue_is_in_the_corpus(
    pdf_shapes: list[Shape], qr_shapes: list[tuple[Shape, datetime | None]]
) -> None:
    pdf_names = [s.name for s in pdf_shapes]
    qr_names = [s.name for s, _ in qr_shapes]
    for family in PDF_FAMILIES:
        assert any(n.startswith(family) for n in pdf_names), family
    for family in QR_FAMILIES:
        assert any(n.startswith(family) for n in qr_names), family
    assert len(set(pdf_names)) == len(pdf_names) and len(set(qr_names)) == len(qr_names)


def test_hostile_pdfs_through_the_verifier(
    hostile_region: Runtime, pdf_shapes: list[Shape]
) -> None:
    v = hostile_region.verifier()
    rows = [through_verifier(s, partial(v.verify_pdf, s.data)) for s in pdf_shapes]  # type: ignore[arg-type]
    print(report(rows))
    assert_all_refused(rows)


def test_hostile_qr_payloads_through_the_verifier(
    hostile_region: Runtime, qr_shapes: list[tuple[Shape, datetime | None]]
) -> None:
    v = hostile_region.verifier()
    rows = [
        through_verifier(s, partial(v.verify_qr, s.data, at))  # type: ignore[arg-type]
        for s, at in qr_shapes
    ]
    print(report(rows))
    assert_all_refused(rows)


def test_a_compression_bomb_is_not_inflated(
    hostile_region: Runtime, pdf_shapes: list[Shape]
) -> None:
    """The metadata attachment inflates to 64 MiB; reading it must not allocate that."""
    bomb = next(s for s in pdf_shapes if s.name == "metadata_bomb")
    v = hostile_region.verifier()
    tracemalloc.start()
    try:
        result = v.verify_pdf(bomb.data)  # type: ignore[arg-type]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.verdict == "TAMPERED"
    assert any("larger than 256 KiB" in c.detail for c in result.checks), result.checks
    assert peak < 16 * 1024 * 1024, f"peak {peak / 1024 / 1024:.1f} MiB while reading a bomb"


def test_parser_traps_are_refused_before_parsing(pdf_shapes: list[Shape]) -> None:
    """Deep nesting costs pyHanko one Python frame per level, and web3's py_ecc raises the
    recursion limit to 100,000: such files are refused by a scan before any parse."""
    traps = {s.name: s for s in pdf_shapes if s.name.startswith("parser_")}
    for name in ("parser_deep_arrays", "parser_deep_dicts", "parser_flat_tokens"):
        report = validate_pdf_signature(traps[name].data, [])  # type: ignore[arg-type]
        assert "nests objects" in report.detail or "structural tokens" in report.detail, name
        with pytest.raises(MetadataError, match=r"nests objects|structural tokens"):
            read_metadata(traps[name].data, METADATA_FILE)  # type: ignore[arg-type]
