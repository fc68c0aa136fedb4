"""Personal contact and wallet IDs sealed at rest (issue 20, review of points 2 and 4): after a
licence is issued through the API with the holder's e-mail and phone, and the holder opens a
wallet (activation at the window, registration with a contact, sign-in with a code sent
through the real outbox), the raw database file holds none of the ID, the e-mail addresses or
the phone number in plaintext — while the code reads each of them back, finds the account by
the ID and sends the code to the right address."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import create_engine, select

from ledger_client.node import AnvilNode
from licence_service.api.app import create_app
from licence_service.people.holder_models import HolderAccount, HolderActivation
from licence_service.people.holder_signin import OutboxCodeSender
from licence_service.people.identity import PersonRole
from licence_service.region.runtime import Runtime
from licence_service.store.engine import make_engine, make_sessions
from licence_service.store.field_key import FieldKey
from licence_service.store.messages import Message
from licence_service.store.models import Licence
from licence_service.store.schema import alembic_config, upgrade
from licence_service.store.sealing import register_key
from tests.chain_fixtures import free_port
from tests.people_fixtures import bearer, person_token, serving
from tests.service_fixtures import region_runtime
from tests.wallet.fixtures import CITIZEN, DL01, PASSWORD

pytestmark = pytest.mark.e2e

HOLDER = CITIZEN  # born 1990-03-07, as the driving licence's face says
LICENCE_EMAIL, LICENCE_PHONE = "zhang.sealed@example.cn", "13912345678"
WALLET_EMAIL = "wallet.sealed@example.cn"


@dataclass
class Served:
    rt: Runtime
    url: str
    staff: dict[str, dict[str, str]]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode) -> Iterator[Served]:
    port = free_port()
    home = tmp_path_factory.mktemp("sealed-at-rest")
    rt = region_runtime(home, anvil, public_url=f"http://127.0.0.1:{port}")
    with rt.sessions() as s:
        agency = rt.agency(s).code
    staff = {
        "window": bearer(person_token(rt, "window-s", agency, PersonRole.WINDOW_STAFF)),
        "issuer": bearer(person_token(rt, "issuer-s", agency, PersonRole.ISSUER)),
    }
    app = create_app(rt)
    app.state.code_sender = OutboxCodeSender()  # the real outbox: its recipient is sealed too
    with serving(app, port) as url:
        yield Served(rt, url, staff)


def _raw_database(rt: Runtime) -> bytes:
    """Every byte of the SQLite database as it lies on disk (the WAL checkpointed into it)."""
    path = Path(rt.settings.home) / "licledger.db"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    found = path.read_bytes()
    for extra in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-journal")):
        if extra.exists():
            found += extra.read_bytes()
    return found


def _open_wallet(served: Served, c: httpx.Client) -> None:
    body = {
        "type_code": "DL01",
        "holder_name": DL01.holder_name,
        "holder_id": HOLDER,
        "fields": DL01.fields,
        "holder_email": LICENCE_EMAIL,
        "holder_phone": LICENCE_PHONE,
    }
    r = c.post("/api/v1/licences", json=body, headers=served.staff["issuer"])  # fmt: skip
    assert r.status_code == 201, r.text
    r = c.post("/api/v1/wallet/activations", json={"holder_id": HOLDER},
               headers=served.staff["window"])  # fmt: skip
    assert r.status_code == 201, r.text
    r = c.post("/api/v1/wallet/register", json={
        "holder_id": HOLDER, "activation_code": r.json()["activation_code"],
        "password": PASSWORD, "contact": WALLET_EMAIL})  # fmt: skip
    assert r.status_code == 201, r.text
    r = c.post("/api/v1/wallet/sign-in", json={"holder_id": HOLDER, "password": PASSWORD})
    assert r.status_code == 200, r.text
    with served.rt.sessions() as s:  # the code, from the outbox (read through the ORM)
        (message,) = s.scalars(select(Message)).all()
        assert message.recipient == WALLET_EMAIL
        code = message.body.split("验证码 ")[1][:6]
    r = c.post("/api/v1/wallet/sign-in/code", json={"challenge": r.json()["challenge"],
                                                   "code": code})  # fmt: skip
    assert r.status_code == 200, r.text
    listed = c.get("/api/v1/wallet/licences")
    assert listed.status_code == 200 and len(listed.json()) == 1, listed.text


def test_no_contact_or_id_lies_in_the_database_in_plaintext(served: Served) -> None:
    with httpx.Client(base_url=served.url, timeout=60) as c:
        _open_wallet(served, c)
    with served.rt.sessions() as s:  # the code still reads every value in plaintext
        licence = s.scalar(select(Licence).where(Licence.type_code == "DL01"))
        assert licence is not None and licence.holder_id == HOLDER
        assert (licence.holder_email, licence.holder_phone) == (LICENCE_EMAIL, LICENCE_PHONE)
        account = s.scalar(select(HolderAccount))
        assert account is not None and (account.holder_id, account.contact) == (
            HOLDER,
            WALLET_EMAIL,
        )
        assert s.scalar(select(HolderActivation.holder_id_hash)) == account.holder_id_hash
        raw_columns = s.execute(
            select(Licence.holder_email, Licence.holder_phone).where(Licence.id == licence.id)
        ).one()
        assert all(str(v).startswith("fk1.") for v in raw_columns), raw_columns
    raw = _raw_database(served.rt)
    for secret in (HOLDER, HOLDER.lower(), LICENCE_EMAIL, LICENCE_PHONE, WALLET_EMAIL):
        for encoded in (secret.encode(), secret.encode("utf-16-le")):
            assert encoded not in raw, f"{secret} lies in the database file in plaintext"


@pytest.mark.unit
def test_the_migration_seals_contacts_and_wallet_ids_written_before(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    rows = [  # a database at 0013: a licence with contact, a wallet account, its code, a message
        "INSERT INTO agency (id, code, name, region_code, region_name, chain_address, cert_pem, "
        "cert_fingerprint, created_at) VALUES (1, '11330100002489458U', 'x', 330100, 'x', '0x1', "
        "'-', 'ab', '2026-01-01')",
        "INSERT INTO licence (id, base_id, type_code, agency_id, serial, holder_name, "
        "holder_id_type, holder_id, current_version, status, created_at, holder_email, "
        "holder_phone) VALUES (1, 'L', 'DL01', 1, 1, '王小明', 'citizen_id', 'fk1.intl.x', 1, "
        f"'ACTIVE', '2026-01-01', '{LICENCE_EMAIL}', '{LICENCE_PHONE}')",
        "INSERT INTO holder_account (id, holder_id, contact, password_hash, activated_by, "
        f"created_at) VALUES (1, '{HOLDER}', '{WALLET_EMAIL}', 'h', 'w', '2026-01-01')",
        "INSERT INTO holder_activation (id, holder_id, code_hash, issued_by, issued_at, "
        f"expires_at, failures) VALUES (1, '{HOLDER}', x'01', 'w', '2026-01-01', '2026-01-08', 0)",
        "INSERT INTO notify_message (id, dedupe_key, channel, recipient, subject, body, state, "
        "attempts, next_attempt_at, created_at) VALUES (1, 'k', 'sms', "
        f"'{LICENCE_PHONE}', '', 'b', 'pending', 0, '2026-01-01', '2026-01-01')",
    ]
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0013")
        for statement in rows:
            conn.execute(sa.text(statement))
    key = FieldKey(tmp_path / "keys" / "field.key")
    register_key(url, key)
    upgrade(engine)
    engine.dispose()
    raw = (tmp_path / "old.db").read_bytes()
    for secret in (HOLDER, LICENCE_EMAIL, LICENCE_PHONE, WALLET_EMAIL):
        assert secret.encode() not in raw, secret
    with make_sessions(make_engine(url), key)() as s:
        account = s.scalar(select(HolderAccount).where(
            HolderAccount.holder_id_hash == key.holder_hash(HOLDER)))  # fmt: skip
        assert account is not None and account.contact == WALLET_EMAIL
        activation = s.get(HolderActivation, 1)
        assert activation is not None and activation.holder_id == HOLDER
        assert s.scalar(select(Message.recipient)).startswith("fk1.")  # type: ignore[union-attr]
        message = s.get(Message, 1)
        assert message is not None and message.recipient == LICENCE_PHONE
