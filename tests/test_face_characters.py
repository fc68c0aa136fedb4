"""Issue 25, point 4: the face prints every character it signs.

Rare characters of real names (CJK Extensions B–G, four bytes in GB 18030), Latin with
combining marks and an emoji a font draws are printed with the fallback fonts and read back
from the PDF's text; a character no font draws, an invisible control (NUL, U+202E) or a
right-to-left script is refused before anything is signed, naming the character.
"""

from __future__ import annotations

import subprocess
from dataclasses import replace
from io import BytesIO
from pathlib import Path

import pypdf
import pytest
from PIL import Image, ImageChops

from licence_service.documents.face import RenderOptions, render_licence_pdf
from licence_service.documents.fonts import font_runs, undrawable
from licence_service.domain.errors import FaceTextError, InvalidInputError
from licence_service.domain.licence_types import FieldValidationError, get_licence_type
from licence_service.services.issue import validate_request
from licence_service.services.issue_checks import field_errors
from tests.service_fixtures import business_request
from tests.test_document import FACE

OPTIONS = RenderOptions(watermark="本用户对此材料的真实性负责", qr_payload="x")

RARE_NAMES = (
    "王𠀀",  # U+20000, the first of Extension B
    "李𪚥",  # U+2A6A5 (four dragons), Extension B
    "𠮷野家",  # U+20BB7, Extension B, a family name in real registers
    "陈𪜀𫝀𫠠",  # Extensions C, D, E
    "张𬺰𰀀",  # Extension F, Extension G
    "Zoë Cafe\u0301",  # Latin with a precomposed and a combining accent
    "刘😀",  # an emoji the fallback fonts draw (monochrome)
)


def _text(pdf: bytes) -> str:
    """The page's text as pypdf extracts it (each font run on its own line)."""
    return pypdf.PdfReader(BytesIO(pdf)).pages[0].extract_text().replace("\n", "")


@pytest.mark.unit
@pytest.mark.parametrize("name", RARE_NAMES)
def test_every_character_of_a_rare_name_reads_back_from_the_face(name: str) -> None:
    assert undrawable(name) == []
    text = _text(render_licence_pdf(replace(FACE, holder_name=name), OPTIONS))
    assert name in text


@pytest.mark.unit
def test_an_all_bmp_name_stays_in_the_main_font() -> None:
    (run,) = font_runs("杭州青禾科技有限公司")
    assert run[1] == "杭州青禾科技有限公司"
    assert len(font_runs("王𠀀")) == 2


@pytest.mark.unit
@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("王\x00明", "U+0000"),
        ("王\u202e明", "U+202E"),
        ("王\u2066明", "U+2066"),
        ("王\u200f明", "U+200F"),
        ("王\u061c明", "U+061C"),
        ("王\x85明", "U+0085"),
        ("王\x1b明", "U+001B"),
        ("王\ue000明", "U+E000"),
        ("محمد", "U+0645"),
        ("王\U0002fffd明", "U+2FFFD"),
        ("王\U0001f9ff明", "U+1F9FF"),  # an emoji no installed font draws
    ],
)
def test_a_name_the_face_cannot_print_as_signed_is_refused(name: str, code: str) -> None:
    req = business_request(holder_name=name)
    with pytest.raises(InvalidInputError) as refused:
        validate_request(req)
    assert refused.value.field == "holder_name" and code in str(refused.value)
    assert code in field_errors(req)["holder_name"]


@pytest.mark.unit
def test_a_control_in_a_field_value_is_refused_naming_the_field() -> None:
    spec = next(s for s in get_licence_type("BL01").fields if s.key == "住所")
    with pytest.raises(FieldValidationError, match="U\\+202E") as refused:
        spec.clean("杭州市\u202e路90号")
    assert refused.value.field == "住所"
    fields = {**business_request().fields, "住所": "杭州市\x00路"}
    assert "U+0000" in field_errors(business_request(fields=fields))["住所"]


@pytest.mark.unit
def test_the_renderer_itself_never_prints_a_character_blank() -> None:
    with pytest.raises(FaceTextError, match="U\\+2FFFD"):
        render_licence_pdf(replace(FACE, holder_name="王\U0002fffd"), OPTIONS)


def _holder_region(pdf: bytes, tmp_path: Path, stem: str) -> Image.Image:
    path = tmp_path / f"{stem}.pdf"
    path.write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", "100", "-png", "-singlefile", str(path), str(tmp_path / stem)],
        check=True,
    )
    with Image.open(tmp_path / f"{stem}.png") as page:
        # the holder row at 100 dpi: right of its label (64 mm), 78 mm below the top
        return page.convert("L").crop((250, 285, 600, 320))


@pytest.mark.e2e  # pdftoppm
def test_the_rare_character_is_inked_on_the_page_image(tmp_path: Path) -> None:
    """A name drawn with 𪚥 differs, in the holder row of the page image, from the same name
    with that character replaced by a space (what a missing glyph printed before)."""
    rare = _holder_region(
        render_licence_pdf(replace(FACE, holder_name="李𪚥"), OPTIONS), tmp_path, "rare"
    )
    blank = _holder_region(
        render_licence_pdf(replace(FACE, holder_name="李 "), OPTIONS), tmp_path, "blank"
    )
    difference = ImageChops.difference(rare, blank)
    inked = sum(difference.histogram()[64:])
    assert inked > 40, inked


@pytest.mark.unit
@pytest.mark.parametrize("text", ["加注\u202e用途", "用途\x00", "用途\x1f", "用途\u200b"])
def test_no_text_on_any_face_carries_a_control_even_one_no_check_looked_at(text: str) -> None:
    """The 加注 stamp's purpose (a copy's) is drawn by the same fallback chain, which never
    draws a control, bidi or format character, even where the main font has a glyph for it."""
    options = replace(OPTIONS, annotation=(("用途", text),))
    with pytest.raises(FaceTextError, match="U\\+"):
        render_licence_pdf(FACE, options)
