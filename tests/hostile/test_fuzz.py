"""Issue 11: a bounded property-based fuzz of the PDF and QR parsers (hypothesis).

Random mutations of a real signed, anchored licence PDF and of its real QR token never
verify as VALID once they differ from the original, and never raise anything but the typed
``VerificationError``. Bounded: a fixed number of examples, derandomised (the same inputs on
every run, so CI is stable; a failure names the input), no per-example deadline.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from licence_service.region.runtime import Runtime
from tests.hostile import pdf_edits
from tests.hostile.corpus import Sources
from verifier.engine import Verifier, VerifierConfig
from verifier.errors import VerificationError
from verifier.qr import parse_token

PDF_EXAMPLES = 200
QR_EXAMPLES = 200
BOUNDED = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@pytest.fixture(scope="module")
def quiet_verifier(hostile_region: Runtime, sources: Sources) -> Iterator[Verifier]:
    """The region's verifier after one sync: the chain does not change during the fuzz, so
    each example skips the indexer round trip (the checks themselves are unchanged)."""
    v = hostile_region.verifier()
    assert v.verify_pdf(sources.own.pdf).verdict == "VALID"
    v.config = VerifierConfig(sync_before_verify=False)
    started = time.monotonic()
    yield v
    print(f"fuzz module: {time.monotonic() - started:.1f} s")


# ------------------------------------------------------------------------------------ PDF
def _hotspots(pdf: bytes) -> list[int]:
    """Offsets where a mutation is most likely to confuse a parser: the byte range, the
    signature container, the cross-reference tables, the trailers, the file's two ends."""
    _, b, c, _ = pdf_edits.byte_range(pdf)
    marks = [0, 8, b - 1, b + 1, b + 200, c - 2, c, len(pdf) - 1]
    for token in (b"/ByteRange", b"xref", b"trailer", b"startxref", b"%%EOF", b"/Root"):
        at = pdf.rfind(token)
        if at >= 0:
            marks.append(at)
    return marks


@st.composite
def mutated_pdf(draw: st.DrawFn, pdf: bytes) -> bytes:
    data = bytearray(pdf)
    spots = _hotspots(pdf)
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        anchor = draw(st.one_of(st.sampled_from(spots), st.integers(0, len(data) - 1)))
        at = min(max(0, anchor + draw(st.integers(-16, 16))), len(data) - 1)
        op = draw(st.sampled_from(["flip", "set", "delete", "insert", "truncate", "duplicate"]))
        if op == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "set":
            data[at] = draw(st.sampled_from(b"0 9<>[]()/\n%A\x00\xff"))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=32))
        elif op == "truncate":
            del data[at:]
        else:
            data[at:at] = data[at : at + draw(st.integers(1, 256))]
    return bytes(data)


def test_mutated_pdfs_are_never_valid(quiet_verifier: Verifier, sources: Sources) -> None:
    original = sources.own.pdf
    seen: dict[str, int] = {}

    @settings(BOUNDED, max_examples=PDF_EXAMPLES)
    @given(st.data())
    def check(data: st.DataObject) -> None:
        mutated = data.draw(mutated_pdf(original))
        if mutated == original:  # e.g. a flip undone by a second flip
            return
        try:
            verdict = str(quiet_verifier.verify_pdf(mutated).verdict)
        except VerificationError:
            verdict = "ERROR"
        seen[verdict] = seen.get(verdict, 0) + 1
        assert verdict != "VALID", "a mutated licence verified as VALID"

    started = time.monotonic()
    check()
    print(f"PDF fuzz: {sum(seen.values())} examples in {time.monotonic() - started:.1f} s {seen}")
    assert sum(seen.values()) >= PDF_EXAMPLES // 2 and "VALID" not in seen


# ------------------------------------------------------------------------------------- QR
@st.composite
def mutated_token(draw: st.DrawFn, token: str) -> str:
    text = list(token)
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, max(0, len(text) - 1)))
        op = draw(st.sampled_from(["replace", "delete", "insert", "truncate", "swap_part"]))
        char = draw(st.one_of(st.sampled_from(B64 + ".=+/ "), st.characters()))
        if op == "replace" and text:
            text[at] = char
        elif op == "delete" and text:
            del text[at]
        elif op == "insert":
            text.insert(at, char)
        elif op == "truncate":
            del text[at:]
        else:
            parts = "".join(text).split(".")
            i, j = draw(st.integers(0, len(parts) - 1)), draw(st.integers(0, len(parts) - 1))
            parts[i], parts[j] = parts[j], parts[i]
            text = list(".".join(parts))
    return "".join(text)


def _same_token(candidate: str, token: str) -> bool:
    """A URL or whitespace around the very same token is the same token."""
    return candidate.strip().rsplit("/", 1)[-1] == token


def test_mutated_qr_tokens_are_never_valid(quiet_verifier: Verifier, sources: Sources) -> None:
    token = sources.own.token
    seen: dict[str, int] = {}

    @settings(BOUNDED, max_examples=QR_EXAMPLES)
    @given(st.data())
    def check(data: st.DataObject) -> None:
        mutated = data.draw(mutated_token(token))
        if _same_token(mutated, token):
            return
        try:
            verdict = str(quiet_verifier.verify_qr(mutated).verdict)
        except VerificationError:
            verdict = "ERROR"
        seen[verdict] = seen.get(verdict, 0) + 1
        assert verdict != "VALID", f"a mutated QR token verified as VALID: {mutated!r}"

    started = time.monotonic()
    check()
    print(f"QR fuzz: {sum(seen.values())} examples in {time.monotonic() - started:.1f} s {seen}")
    assert sum(seen.values()) >= QR_EXAMPLES // 2 and "VALID" not in seen


@settings(BOUNDED, max_examples=QR_EXAMPLES)
@given(st.text(max_size=2_000))
def test_any_text_parses_or_is_refused_with_a_typed_error(text: str) -> None:
    """Whatever a camera reads: a token or ``VerificationError``, nothing else."""
    try:
        parse_token(text)
    except VerificationError as exc:
        assert str(exc)
