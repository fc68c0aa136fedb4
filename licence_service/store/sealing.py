"""Sensitive values encrypted in the database, plaintext in the objects the code uses.

The ORM does it, so no use case handles ciphertext: before a flush every new or changed
sealed column (:data:`SEALED`: holder IDs of licences, submissions, consents, holder accounts
and activation codes; the holder's e-mail and phone of a licence; a wallet account's contact;
an outbox message's recipient) and every sensitive face field of a licence version (its type's
``sensitive`` class, ``domain.data_classes``) is sealed with the region's field key
(``store.field_key``); a holder ID's keyed hash is written beside it (``holder_id_hash``, what
lookups by holder ID compare); after the flush, and whenever a row is loaded, the objects hold
the plaintext again. A session finds its key in its ``info`` (``make_sessions``) or, for
another engine on the same database, by the database URL. Tables of other packages (the
wallet's) register their columns with :func:`seal_columns`; a Core insert (the outbox's)
seals its value itself with :func:`seal_value`.

Reading a sealed value through a column query (``select(Licence.holder_id)``) returns the
ciphertext: read entities, or compare ``holder_id_hash`` (``holder_lookup``).
"""

from __future__ import annotations

import json
import threading
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, attributes

from licence_service.domain.data_classes import sensitive_keys
from licence_service.domain.licence_types import get_licence_type
from licence_service.store.field_key import FieldKey, FieldKeyMissingError, is_sealed
from licence_service.store.messages import Message
from licence_service.store.models import Consent, Licence, LicenceVersion, Submission

__all__ = [
    "SEALED",
    "field_key_of",
    "holder_lookup",
    "install",
    "key_for_url",
    "migration_key",
    "register_key",
    "seal_columns",
    "seal_json",
    "seal_value",
]

# model -> its sealed columns, each with whether a keyed hash ``<column>_hash`` goes beside it
SEALED: dict[type, dict[str, bool]] = {
    Licence: {"holder_id": True, "holder_email": False, "holder_phone": False},
    Submission: {"holder_id": True},
    Consent: {"holder_id": True},
    Message: {"recipient": False},
}
_BY_URL: dict[str, FieldKey] = {}
_LOCK = threading.Lock()
_RESTORE = "licledger_unseal_after_flush"


def _url(url: Any) -> str:
    return make_url(str(url) if not isinstance(url, str) else url).render_as_string(
        hide_password=False
    )


def register_key(url: str, key: FieldKey) -> None:
    """Make ``key`` the field key of the database at ``url`` in this process (also for the
    migration that seals the rows written before sealing existed)."""
    with _LOCK:
        _BY_URL[_url(url)] = key


def key_for_url(url: Any) -> FieldKey | None:
    return _BY_URL.get(_url(url))


def migration_key(url: Any, needed: bool, what: str) -> FieldKey | None:
    """The field key a migration seals existing rows with: the one registered for ``url``
    (made here in development when missing; in production it must be configured). Missing
    while ``needed`` (there are rows to seal): the error says how to run the upgrade."""
    key = key_for_url(url)
    if key is None:
        if needed:
            raise FieldKeyMissingError(
                f"the database holds {what} to encrypt, and no field key is configured: run "
                "`licledger db upgrade` with the region's data directory (or "
                "LICLEDGER_FIELD_KEY_FILE) so the key is found"
            )
        return None
    if not key.production:
        key.create()  # development: once, beside the other keys; production: configured
    return key


def field_key_of(session: Session) -> FieldKey:
    key = session.info.get("field_key")
    if key is None:
        bind = session.get_bind()
        key = key_for_url(bind.engine.url)
    if key is None:
        raise FieldKeyMissingError(
            "this database session has no field key: sensitive fields cannot be read or "
            "written (open the database through the region's runtime, which sets it)"
        )
    return key


def holder_lookup(session: Session, holder_id: str) -> bytes:
    """The keyed hash to compare ``holder_id_hash`` with, for ``holder_id``."""
    return field_key_of(session).holder_hash(holder_id)


def _column(obj: Any, name: str) -> str:
    return f"{inspect(obj).mapper.local_table.name}.{name}"


def seal_columns(model: type, columns: dict[str, bool]) -> None:
    """Seal ``columns`` of ``model`` (True: with a keyed hash in ``<column>_hash``), from
    another package's tables; its load hooks are attached if :func:`install` ran already."""
    with _LOCK:
        SEALED[model] = dict(columns)
        if _installed:
            _listen(model)


def seal_value(session: Session, model: type, column: str, value: str) -> str:
    """``value`` sealed for ``model.column``, for a write that bypasses the ORM (a Core
    insert); the load hook opens it when the row is read as an entity."""
    table = model.__table__.name  # type: ignore[attr-defined]
    return field_key_of(session).seal(value, f"{table}.{column}")


def _changed(obj: Any, name: str) -> bool:
    state = inspect(obj)
    return state.pending or attributes.get_history(obj, name).has_changes()


def _face_keys(session: Session, version: LicenceVersion) -> frozenset[str]:
    licence = version.licence
    if licence is None:
        with session.no_autoflush:
            licence = session.get(Licence, version.licence_id)
    return sensitive_keys(get_licence_type(licence.type_code)) if licence else frozenset()


def seal_json(key: FieldKey, text: str, keys: frozenset[str], column: str) -> str:
    values = json.loads(text)
    if not isinstance(values, dict) or not keys & values.keys():
        return text
    for k in keys & values.keys():
        if isinstance(values[k], str) and not is_sealed(values[k]):
            values[k] = key.seal(values[k], f"{column}:{k}")
    return json.dumps(values, ensure_ascii=False)


def _open_json(key: FieldKey, text: str, column: str) -> str:
    if "fk1." not in text:
        return text
    values = json.loads(text)
    for k, v in values.items():
        if is_sealed(v):
            values[k] = key.open(v, f"{column}:{k}")
    return json.dumps(values, ensure_ascii=False)


def _before_flush(session: Session, _ctx: Any, _instances: Any) -> None:
    restore: list[tuple[Any, str, str]] = session.info.setdefault(_RESTORE, [])
    obj: Any
    for obj in [*session.new, *session.dirty]:
        columns = SEALED.get(type(obj))
        if columns:
            for name, hashed in columns.items():
                if not _changed(obj, name):
                    continue
                plain = getattr(obj, name)
                if plain and not is_sealed(plain):
                    key = field_key_of(session)
                    if hashed:
                        setattr(obj, f"{name}_hash", key.holder_hash(plain))
                    setattr(obj, name, key.seal(plain, _column(obj, name)))
                    restore.append((obj, name, plain))
        elif isinstance(obj, LicenceVersion) and _changed(obj, "fields_json"):
            keys = _face_keys(session, obj)
            plain = obj.fields_json
            if keys and plain:
                sealed = seal_json(field_key_of(session), plain, keys, _column(obj, "fields_json"))
                if sealed != plain:
                    obj.fields_json = sealed
                    restore.append((obj, "fields_json", plain))


def _after_flush(session: Session, _ctx: Any) -> None:
    for obj, name, plain in session.info.pop(_RESTORE, []):
        attributes.set_committed_value(obj, name, plain)


def _loaded(obj: Any, ctx: Any, *_: Any) -> None:
    session = getattr(ctx, "session", None)
    if session is None:
        return
    columns = SEALED.get(type(obj))
    if columns:
        for name in columns:
            value = obj.__dict__.get(name)
            if is_sealed(value):
                plain = field_key_of(session).open(value, _column(obj, name))
                attributes.set_committed_value(obj, name, plain)
    elif isinstance(obj, LicenceVersion):
        value = obj.__dict__.get("fields_json")
        if isinstance(value, str):
            plain = _open_json(field_key_of(session), value, _column(obj, "fields_json"))
            if plain is not value:
                attributes.set_committed_value(obj, "fields_json", plain)


_installed = False


def _listen(model: type) -> None:
    event.listen(model, "load", _loaded)
    event.listen(model, "refresh", _loaded)


def install() -> None:
    """Attach the hooks (once per process)."""
    global _installed
    with _LOCK:
        if _installed:
            return
        event.listen(Session, "before_flush", _before_flush)
        event.listen(Session, "after_flush_postexec", _after_flush)
        for model in (*SEALED, LicenceVersion):
            _listen(model)
        _installed = True
