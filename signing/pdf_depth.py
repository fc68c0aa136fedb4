"""A cheap pre-check of how deeply a PDF's objects nest, before pyHanko parses them.

pyHanko's object parser is recursive: an array or dictionary nested N deep costs N Python
frames. Importing web3's dependency ``py_ecc`` raises Python's recursion limit to 100,000 for
the whole process, so a few hundred kilobytes of ``[[[[…`` keep a verifying process busy for
seconds per request instead of failing at once. Licence PDFs nest a handful of levels; a file
nesting deeper than :data:`MAX_NESTING` is refused before it is parsed.

The scan skips literal strings (with escapes and balanced parentheses) and stream bodies,
where brackets carry no structure, and stops as soon as the limit is passed.
"""

from __future__ import annotations

import re

__all__ = ["MAX_NESTING", "MAX_TOKENS", "nesting_problem"]

MAX_NESTING = 64
# A licence has under a thousand structural tokens outside its streams; a file with many more is
# not one, and scanning (or parsing) it would only cost time.
MAX_TOKENS = 20_000
_TOKEN = re.compile(rb"[()\[\]\\%]|<<|>>|stream\r?\n")
_LINE_END = re.compile(rb"[\r\n]")


def nesting_problem(data: bytes) -> str | None:
    """A reason to refuse ``data`` when its objects nest deeper than :data:`MAX_NESTING` (or
    it has more than :data:`MAX_TOKENS` brackets, parentheses and comments outside streams)."""
    depth = strings = count = 0
    pos = 0
    while (m := _TOKEN.search(data, pos)) is not None:
        token, pos = m.group(), m.end()
        count += 1
        if count > MAX_TOKENS:
            return f"the file has more than {MAX_TOKENS} structural tokens: it is not a licence PDF"
        if strings:  # inside a literal string: only escapes and parentheses count
            if token == b"\\":
                pos += 1
            elif token == b"(":
                strings += 1
            elif token == b")":
                strings -= 1
            continue
        if token == b"(":
            strings = 1
        elif token == b"%":  # a comment runs to the end of the line
            eol = _LINE_END.search(data, pos)
            pos = eol.end() if eol else len(data)
        elif token.startswith(b"stream"):
            end = data.find(b"endstream", pos)
            pos = len(data) if end < 0 else end + len(b"endstream")
        elif token in (b"[", b"<<"):
            depth += 1
            if depth > MAX_NESTING:
                return (
                    f"the file nests objects more than {MAX_NESTING} levels deep: it is not a "
                    "licence PDF"
                )
        elif token in (b"]", b">>"):
            depth = max(0, depth - 1)
    return None
