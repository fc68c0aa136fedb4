"""A QR encoder for the one kind of code a licence carries: byte mode, error level M, mask 4.

Why not the ``qrcode`` package: it builds every code from scratch with a polynomial class
and a module-by-module placement, about 8 ms for a licence's signed URL, a fifth of the
whole render-and-sign time of a licence in a bulk import. Everything here that does not
depend on the payload (finder, timing and alignment patterns, format and version bits, the
zigzag order of the data modules and the mask over them) is computed once per version;
encoding a payload is then the Reed-Solomon remainders (log tables) and flipping the
modules of its one bits. The layout follows ISO/IEC 18004 as Project Nayuki's reference
implementation writes it; the tests compare every module with the ``qrcode`` package's
output for the same version and mask.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

__all__ = ["QrTooLongError", "qr_matrix"]

MASK = 4
"""A fixed mask pattern: any of the eight makes a valid code, and scoring all eight for the
best one cost two thirds of a licence's rendering time with ``qrcode``."""

_ECC_PER_BLOCK_M = (
    -1, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26,
    26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28,
)  # fmt: skip
_BLOCKS_M = (
    -1, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16,
    17, 17, 18, 20, 21, 23, 25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49,
)  # fmt: skip
_FORMAT_M = 0  # the two error-level bits of level M in the format information

_EXP = [0] * 512
_LOG = [0] * 256
_x = 1
for _i in range(255):
    _EXP[_i] = _x
    _LOG[_x] = _i
    _x <<= 1
    if _x & 0x100:
        _x ^= 0x11D
for _i in range(255, 512):
    _EXP[_i] = _EXP[_i - 255]
_ONES = tuple(tuple(bit for bit in range(8) if b >> (7 - bit) & 1) for b in range(256))
"""The one bits of each byte value, as offsets from its first (highest) bit."""


class QrTooLongError(ValueError):
    """The payload does not fit the largest QR code (version 40) at level M."""


def _raw_modules(version: int) -> int:
    """Data and error-correction modules of a version (all but the function patterns)."""
    result = (16 * version + 128) * version + 64
    if version >= 2:
        align = version // 7 + 2
        result -= (25 * align - 10) * align - 55
        if version >= 7:
            result -= 36
    return result


def _data_codewords(version: int) -> int:
    return _raw_modules(version) // 8 - _ECC_PER_BLOCK_M[version] * _BLOCKS_M[version]


def _alignment_positions(version: int) -> list[int]:
    if version == 1:
        return []
    count = version // 7 + 2
    step = 26 if version == 32 else (version * 4 + count * 2 + 1) // (count * 2 - 2) * 2
    size = version * 4 + 17
    return [6, *(size - 7 - i * step for i in range(count - 2, -1, -1))]


@dataclass(frozen=True)
class _Template:
    """A version's payload-independent part: the function modules with the (masked) light
    data modules, and the data modules in placement order."""

    rows: tuple[bytes, ...]
    order: tuple[tuple[int, int], ...]  # (row, column) of data bit i


def _function_modules(version: int) -> tuple[list[bytearray], list[bytearray]]:
    size = version * 4 + 17
    dark = [bytearray(size) for _ in range(size)]
    fixed = [bytearray(size) for _ in range(size)]

    def put(x: int, y: int, on: bool) -> None:
        dark[y][x] = on
        fixed[y][x] = 1

    for i in range(size):  # timing patterns
        put(6, i, i % 2 == 0)
        put(i, 6, i % 2 == 0)
    for cx, cy in ((3, 3), (size - 4, 3), (3, size - 4)):  # finder patterns and separators
        for dy in range(-4, 5):
            for dx in range(-4, 5):
                if 0 <= cx + dx < size and 0 <= cy + dy < size:
                    put(cx + dx, cy + dy, max(abs(dx), abs(dy)) not in (2, 4))
    positions = _alignment_positions(version)
    last = len(positions) - 1
    for i, ax in enumerate(positions):
        for j, ay in enumerate(positions):
            if (i, j) in ((0, 0), (0, last), (last, 0)):
                continue
            for dy in range(-2, 3):
                for dx in range(-2, 3):
                    put(ax + dx, ay + dy, max(abs(dx), abs(dy)) != 1)
    data = _FORMAT_M << 3 | MASK
    rem = data
    for _ in range(10):
        rem = (rem << 1) ^ ((rem >> 9) * 0x537)
    bits = (data << 10 | rem) ^ 0x5412
    for i in range(15):
        on = bool(bits >> i & 1)
        if i < 6:
            put(8, i, on)
        elif i < 8:
            put(8, i + 1, on)
        elif i == 8:
            put(7, 8, on)
        else:
            put(14 - i, 8, on)
        if i < 8:
            put(size - 1 - i, 8, on)
        else:
            put(8, size - 15 + i, on)
    put(8, size - 8, True)  # the dark module
    if version >= 7:
        rem = version
        for _ in range(12):
            rem = (rem << 1) ^ ((rem >> 11) * 0x1F25)
        vbits = version << 12 | rem
        for i in range(18):
            on = bool(vbits >> i & 1)
            put(size - 11 + i % 3, i // 3, on)
            put(i // 3, size - 11 + i % 3, on)
    return dark, fixed


@lru_cache(maxsize=48)
def _template(version: int) -> _Template:
    dark, fixed = _function_modules(version)
    size = len(dark)
    order: list[tuple[int, int]] = []
    right = size - 1
    while right >= 1:
        if right == 6:
            right = 5
        upward = (right + 1) & 2 == 0
        for vert in range(size):
            y = size - 1 - vert if upward else vert
            for x in (right, right - 1):
                if not fixed[y][x]:
                    order.append((y, x))
        right -= 2
    for y, x in order:  # mask 4 over every data module: a zero bit shows the mask
        dark[y][x] = (x // 3 + y // 2) % 2 == 0
    return _Template(tuple(bytes(r) for r in dark), tuple(order))


@lru_cache(maxsize=64)
def _generator_rows(degree: int) -> tuple[int, ...]:
    """The Reed-Solomon generator polynomial of ``degree`` (without its leading 1) times
    each byte value, each product packed in one integer (its first coefficient highest),
    so that a step of the division is a shift and an exclusive or."""
    poly = [1]
    for i in range(degree):
        nxt = [0] * (len(poly) + 1)
        for j, c in enumerate(poly):
            nxt[j] ^= c
            if c:
                nxt[j + 1] ^= _EXP[_LOG[c] + i]
        poly = nxt
    logs = [_LOG[c] for c in poly[1:]]
    products = (bytes(_EXP[_LOG[f] + g] for g in logs) for f in range(1, 256))
    return (0, *(int.from_bytes(p, "big") for p in products))


def _remainder(data: bytes, rows: tuple[int, ...], degree: int) -> bytes:
    """The error-correction codewords of a block: ``data`` times x^degree modulo the
    generator, with the running remainder held as one integer of ``degree`` bytes."""
    top = 8 * (degree - 1)
    mask = (1 << 8 * degree) - 1
    res = 0
    for b in data:
        res = ((res << 8) & mask) ^ rows[b ^ (res >> top)]
    return res.to_bytes(degree, "big")


def _header_bits(version: int) -> int:
    """Bits before a byte-mode payload: the mode indicator and the length (8 bits up to
    version 9, 16 from version 10)."""
    return 4 + (8 if version < 10 else 16)


def _version_for(length: int) -> int:
    for version in range(1, 41):
        if _header_bits(version) + 8 * length <= _data_codewords(version) * 8:
            return version
    most = (_data_codewords(40) * 8 - _header_bits(40)) // 8
    raise QrTooLongError(
        f"the QR payload is too long ({length} bytes; a QR code at level M holds at most "
        f"{most}); shorten the URL or the signed data in it."
    )


def _codewords(data: bytes, version: int) -> bytes:
    """The data codewords: byte-mode header, the bytes, terminator and padding."""
    count_bits = _header_bits(version) - 4
    capacity = _data_codewords(version)
    bits = (0b0100 << count_bits | len(data)) << (8 * len(data)) | int.from_bytes(data, "big")
    nbits = _header_bits(version) + 8 * len(data)
    pad = min(4, capacity * 8 - nbits)  # terminator
    bits <<= pad
    nbits += pad
    fill = -nbits % 8
    bits <<= fill
    nbits += fill
    out = bytearray(bits.to_bytes(nbits // 8, "big"))
    for i in range(capacity - len(out)):
        out.append(0xEC if i % 2 == 0 else 0x11)
    return bytes(out)


def _interleave(data: bytes, version: int) -> bytes:
    blocks_n = _BLOCKS_M[version]
    ecc_len = _ECC_PER_BLOCK_M[version]
    raw = _raw_modules(version) // 8
    short_n = blocks_n - raw % blocks_n
    short_len = raw // blocks_n - ecc_len  # data codewords of a short block
    gen = _generator_rows(ecc_len)
    data_blocks: list[bytes] = []
    ecc_blocks: list[bytes] = []
    k = 0
    for i in range(blocks_n):
        n = short_len + (0 if i < short_n else 1)
        block = data[k : k + n]
        k += n
        data_blocks.append(block)
        ecc_blocks.append(_remainder(block, gen, ecc_len))
    out = bytearray()
    for i in range(short_len + 1):
        for block in data_blocks:
            if i < len(block):
                out.append(block[i])
    for i in range(ecc_len):
        for ecc in ecc_blocks:
            out.append(ecc[i])
    return bytes(out)


def qr_matrix(payload: bytes) -> list[bytearray]:
    """The modules of ``payload``'s QR code (1 dark), row by row, without a quiet zone, at
    the smallest version that holds it."""
    version = _version_for(len(payload))
    template = _template(version)
    rows = [bytearray(r) for r in template.rows]
    order = template.order
    stream = _interleave(_codewords(payload, version), version)
    for index, byte in enumerate(stream):  # flip the module of every one bit
        base = index * 8
        for bit in _ONES[byte]:
            y, x = order[base + bit]
            rows[y][x] ^= 1
    return rows
