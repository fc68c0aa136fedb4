"""What an identifier names, and how a document's holder is shown to whoever checks it."""

from __future__ import annotations

from dataclasses import dataclass

from verifier.errors import VerificationError
from verifier.leaves import SUFFIX, LeafKind, lookup_key


@dataclass(frozen=True)
class DocumentRef:
    """What an identifier names: a version of a licence, or an attachment of one."""

    base: str
    version: int
    kind: LeafKind = LeafKind.VERSION
    serial: int = 0

    def key(self, claims: bytes = b"") -> bytes:
        return lookup_key(self.base, self.version, self.kind, self.serial, claims)

    @property
    def issuer_in_base(self) -> str | None:
        """The issuer's code inside a GB/T 36904 identifier (1.2.156.3005.2.<type>.<code>...)."""
        parts = self.base.split(".")
        if len(parts) >= 8 and parts[:5] == ["1", "2", "156", "3005", "2"]:
            return parts[6]
        return None


def split_identifier(identifier: str) -> DocumentRef:
    """Parse ``<base>.<NNN>.<check>`` or ``<base>.<NNN>.<check>/<letter><serial>``."""
    head, _, tail = identifier.partition("/")
    parts = head.rsplit(".", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        raise VerificationError(f"licence identifier {identifier!r} has no version segment")
    if not tail:
        return DocumentRef(parts[0], int(parts[1]))
    kinds = {letter: kind for kind, letter in SUFFIX.items()}
    if tail[:1] not in kinds or not tail[1:].isdigit():
        raise VerificationError(f"identifier {identifier!r} has an unknown attachment suffix")
    return DocumentRef(parts[0], int(parts[1]), kinds[tail[:1]], int(tail[1:]))


def mask_name(name: str) -> str:
    """A holder's name as a counter may see it without signing in: enough to compare with the
    paper (first and last characters), not enough to learn it."""
    name = name.strip()
    if len(name) <= 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    if len(name) <= 4:
        return name[0] + "*" * (len(name) - 2) + name[-1]
    return name[:2] + "*" * (len(name) - 4) + name[-2:]
