"""Machine-readable metadata carried inside the PDF as a standard embedded file.

The metadata is a JSON attachment (``/Names /EmbeddedFiles``), which every PDF reader can
list and extract, and it is added *before* signing so the signature covers it. When reading a
signed file, the attachment is taken from the revision the last signature covers, so bytes
appended after signing can never substitute different metadata.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping
from io import BytesIO
from typing import Any

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.embed import EmbeddedFileObject, EmbeddedFileParams, FileSpec, embed_file
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import enumerate_sig_fields

from signing.errors import MetadataError
from signing.pdf_depth import nesting_problem

__all__ = ["attach_metadata", "embed_metadata", "read_metadata"]

_MAX_NAME_TREE_DEPTH = 16
# The metadata is a few KiB of JSON. An attachment may be a compression bomb (kilobytes that
# inflate to gigabytes), so it is inflated with this cap instead of pyHanko's unbounded decode.
MAX_METADATA_BYTES = 256 * 1024


def _dump(metadata: Mapping[str, Any]) -> bytes:
    try:
        return json.dumps(
            dict(metadata), ensure_ascii=False, sort_keys=True, separators=(",", ":")
        ).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise MetadataError(
            f"the metadata cannot be serialised as JSON ({exc}); pass only str, int, float, "
            "bool, None, lists and dicts (format dates as ISO strings)."
        ) from exc


def _is_signed(reader: PdfFileReader) -> bool:
    return any(True for _ in enumerate_sig_fields(reader, filled_status=True))


def embed_metadata(
    pdf_bytes: bytes, metadata: Mapping[str, Any], filename: str = "metadata.json"
) -> bytes:
    """Return ``pdf_bytes`` with ``metadata`` attached as JSON file ``filename``.

    An attachment of the same name is replaced. Signed input is refused, because any
    change after signing would break the signature's coverage of the file.
    """
    try:
        writer = IncrementalPdfFileWriter(BytesIO(pdf_bytes))
    except Exception as exc:
        raise MetadataError(
            f"the input is not a readable PDF ({type(exc).__name__}: {exc}); pass a complete "
            "PDF file."
        ) from exc
    attach_metadata(writer, metadata, filename)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def attach_metadata(
    writer: IncrementalPdfFileWriter, metadata: Mapping[str, Any], filename: str = "metadata.json"
) -> None:
    """Add ``metadata`` as JSON file ``filename`` to the revision ``writer`` is writing
    (what :func:`embed_metadata` does; the signer calls it to attach and sign in one
    revision instead of writing and parsing the file twice)."""
    if not filename or "/" in filename:
        raise MetadataError(f"attachment name {filename!r} is invalid; use a plain file name.")
    payload = _dump(metadata)
    try:
        signed = _is_signed(writer.prev)
    except Exception as exc:
        raise MetadataError(
            f"the input is not a readable PDF ({type(exc).__name__}: {exc}); pass a complete "
            "PDF file."
        ) from exc
    if signed:
        raise MetadataError(
            "the PDF is already signed; embed the metadata before signing, since any change "
            "after signing invalidates the signature."
        )
    ef_stream = EmbeddedFileObject.from_file_data(
        writer,
        data=payload,
        mime_type="application/json",
        params=EmbeddedFileParams(embed_size=True, embed_checksum=True),
    )
    spec = FileSpec(
        file_spec_string=filename,
        file_name=filename,
        embedded_data=ef_stream,
        description="machine-readable metadata (JSON)",
    )
    if not _replace_existing(writer, filename, spec):
        try:
            embed_file(writer, spec)
        except NotImplementedError as exc:
            raise MetadataError(
                "the PDF has a nested /EmbeddedFiles name tree that cannot be extended; "
                "embed the metadata into the freshly rendered PDF."
            ) from exc


def _replace_existing(writer: IncrementalPdfFileWriter, filename: str, spec: FileSpec) -> bool:
    """Point an existing flat-tree entry ``filename`` at the new file spec, if there is one."""
    try:
        names = writer.root["/Names"]["/EmbeddedFiles"]["/Names"]
    except (KeyError, TypeError):
        return False
    for index in range(0, len(names) - 1, 2):
        if str(names[index]) == filename:
            names[index + 1] = writer.add_object(spec.as_pdf_object())
            writer.update_container(names)
            return True
    return False


def _lookup(node: generic.PdfObject, filename: str, depth: int = 0) -> Any:
    """Find ``filename`` in a name tree (flat ``/Names`` or nested ``/Kids``)."""
    if depth > _MAX_NAME_TREE_DEPTH:
        return None
    node = node.get_object()
    if not isinstance(node, generic.DictionaryObject):
        return None
    if "/Names" in node:
        names = node["/Names"]
        for index in range(0, len(names) - 1, 2):
            if str(names[index]) == filename:
                return names[index + 1].get_object()
    if "/Kids" in node:
        for kid in node["/Kids"]:
            found = _lookup(kid, filename, depth + 1)
            if found is not None:
                return found
    return None


def _root_for_reading(reader: PdfFileReader) -> generic.DictionaryObject:
    """The catalog of the last signed revision if the file is signed, else the latest one."""
    signed_revision: int | None = None
    for _name, sig_obj, _field in enumerate_sig_fields(reader, filled_status=True):
        ref = sig_obj.reference if isinstance(sig_obj, generic.IndirectObject) else None
        if ref is None:
            continue
        revision = reader.xrefs.get_last_change(ref)
        signed_revision = revision if signed_revision is None else max(signed_revision, revision)
    if signed_revision is None:
        return reader.root
    root: generic.DictionaryObject = reader.get_historical_root(signed_revision)
    return root


def _bounded_data(stream: generic.StreamObject, filename: str) -> bytes:
    """The decoded bytes of an attachment stream, refusing anything that decodes to more than
    :data:`MAX_METADATA_BYTES` or uses an encoding ``embed_metadata`` never writes."""
    filters = stream.get("/Filter")
    encoded = stream.encoded_data
    if filters is None:
        data = bytes(encoded)
    elif filters in ("/FlateDecode", ["/FlateDecode"]) and "/DecodeParms" not in stream:
        inflater = zlib.decompressobj()
        data = inflater.decompress(bytes(encoded), MAX_METADATA_BYTES + 1)
    else:
        raise MetadataError(f"attachment {filename!r} uses an unexpected encoding ({filters})")
    if len(data) > MAX_METADATA_BYTES:
        raise MetadataError(
            f"attachment {filename!r} is larger than {MAX_METADATA_BYTES // 1024} KiB decoded: "
            "it is not licence metadata"
        )
    return data


def read_metadata(pdf_bytes: bytes, filename: str = "metadata.json") -> dict[str, Any]:
    """Return the JSON object attached as ``filename``; :class:`MetadataError` otherwise."""
    if (too_deep := nesting_problem(bytes(pdf_bytes))) is not None:
        raise MetadataError(f"cannot read attachment {filename!r}: {too_deep}")
    try:
        reader = PdfFileReader(BytesIO(bytes(pdf_bytes)))
        root = _root_for_reading(reader)
        tree = root["/Names"]["/EmbeddedFiles"] if "/Names" in root else None
        spec = _lookup(tree, filename) if tree is not None else None
        if spec is None:
            raise MetadataError(
                f"the PDF has no attachment named {filename!r}; it was not produced by "
                "embed_metadata or the name is wrong."
            )
        ef = spec["/EF"]
        stream = ef["/UF"] if "/UF" in ef else ef["/F"]
        raw = _bounded_data(stream.get_object(), filename)
    except MetadataError:
        raise
    except Exception as exc:
        raise MetadataError(
            f"cannot read attachment {filename!r}: the file is not a readable PDF or the "
            f"attachment is damaged ({type(exc).__name__}: {exc})."
        ) from exc
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MetadataError(
            f"attachment {filename!r} is not UTF-8 JSON ({exc}); it was not written by "
            "embed_metadata."
        ) from exc
    if not isinstance(value, dict):
        raise MetadataError(
            f"attachment {filename!r} holds JSON {type(value).__name__}, expected an object."
        )
    return value
