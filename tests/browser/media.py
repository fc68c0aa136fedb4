"""The fake camera's video: a licence PDF's first page rendered by poppler (``pdftoppm``) and
turned by ffmpeg into a Y4M clip that Chromium plays as its camera.

The frame is what a clerk holds up to a counter webcam: the lower right of the printed page
(the QR code where the PDF put it, with the seal and the text around it), not a QR image made
by the test."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

WIDTH, HEIGHT = 960, 720  # the fake camera's frame (a 4:3 webcam)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} is missing: run `make setup` (scripts/system-deps.sh)")
    return found


DPI = 220
_MM = DPI / 25.4
# The part of the A4 page (mm from the top left) in front of the camera: 4:3, QR included.
_CROP_MM = (100, 209.5, 110, 82.5)


def page_image(pdf: Path, out: Path) -> Path:
    """The lower right of the PDF's first page, rendered at ``DPI`` as a PNG."""
    stem = out.with_suffix("")
    x, y, w, h = (str(round(v * _MM)) for v in _CROP_MM)
    cmd = [_tool("pdftoppm"), "-png", "-r", str(DPI), "-f", "1", "-l", "1", "-singlefile"]
    cmd += ["-x", x, "-y", y, "-W", w, "-H", h]
    subprocess.run([*cmd, str(pdf), str(stem)], check=True, capture_output=True)
    return stem.with_suffix(".png")


def camera_video(images: list[Path], out: Path, seconds: float = 2.0) -> Path:
    """A Y4M video showing each image for ``seconds`` in turn (Chromium loops it), each fitted
    into a ``WIDTH``×``HEIGHT`` frame on white."""
    args: list[str] = [_tool("ffmpeg"), "-loglevel", "error", "-y"]
    for image in images:
        args += ["-loop", "1", "-t", str(seconds), "-framerate", "10", "-i", str(image)]
    fit = (
        f"scale={WIDTH}:{HEIGHT}:force_original_aspect_ratio=decrease,"
        f"pad={WIDTH}:{HEIGHT}:(ow-iw)/2:(oh-ih)/2:white,setsar=1,format=yuv420p"
    )
    chains = ";".join(f"[{i}:v]{fit}[v{i}]" for i in range(len(images)))
    inputs = "".join(f"[v{i}]" for i in range(len(images)))
    graph = f"{chains};{inputs}concat=n={len(images)}:v=1:a=0[out]"
    args += ["-filter_complex", graph, "-map", "[out]", "-pix_fmt", "yuv420p", str(out)]
    subprocess.run(args, check=True, capture_output=True)
    return out
