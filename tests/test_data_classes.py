"""Issue 22 point 3: data classes per field, masking by class and role, sensitive values
encrypted at rest with a key outside the database (AES-GCM for intl, SM4-GCM for sm),
holder IDs found by keyed hash, existing rows sealed by the migration, and a clear error
when the key is missing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import create_engine, select
from typer.testing import CliRunner

from ledger_client.node import AnvilNode
from licence_service.cli.main import app as cli
from licence_service.domain.data_classes import DataClass, class_of, sensitive_keys
from licence_service.domain.licence_types import get_licence_type, load_licence_types
from licence_service.people.identity import PersonInfo, PersonRole, UnitKind
from licence_service.region.runtime import Runtime
from licence_service.services import issue_licence, licence_view, submit_copy
from licence_service.services.disclosure import disclosure_for
from licence_service.services.issue import IssueRequest
from licence_service.store.engine import make_engine, make_sessions
from licence_service.store.field_key import (
    ENV_FIELD_KEY_FILE,
    FieldKey,
    FieldKeyError,
    FieldKeyMissingError,
)
from licence_service.store.models import Licence, LicenceVersion, Submission
from licence_service.store.schema import alembic_config, upgrade
from licence_service.store.sealing import holder_lookup, register_key
from tests.service_fixtures import region_runtime

HOLDER_ID = "110101199003074514"
SECRET = {
    "住址": "浙江省杭州市上城区解放路8号",
    "出生日期": "1990-03-07",
    "档案编号": "330100555666",
}
DL01 = IssueRequest(
    type_code="DL01", holder_name="赵一鸣", holder_id=HOLDER_ID,
    fields={"性别": "男", "国籍": "中国", "初次领证日期": "2010-08-30", "准驾车型": "C1", **SECRET},
)  # fmt: skip
A1, A2 = "11330100002489458U", "11330100002489466N"


def _person(role: PersonRole, agency: str | None) -> PersonInfo:
    kind = UnitKind.AGENCY if agency else UnitKind.AUDIT
    return PersonInfo("p", "p", kind, agency, 330100, frozenset({role}))


def _bytes(home: Path) -> bytes:
    """Every byte the database keeps on disk (the file, its WAL and journal)."""
    return b"".join(p.read_bytes() for p in home.glob("licledger.db*"))


@pytest.mark.unit
def test_every_field_has_a_class_and_masked_fields_are_sensitive() -> None:
    for ltype in load_licence_types().values():
        for spec in ltype.fields:
            assert spec.data_class in ("public", "internal", "sensitive")
        assert class_of(ltype, "holder_id") is DataClass.SENSITIVE
        assert set(ltype.masked_fields) <= sensitive_keys(ltype)
    dl01 = get_licence_type("DL01")
    assert sensitive_keys(dl01) == {"holder_id", *SECRET}
    assert class_of(dl01, "准驾车型") is DataClass.PUBLIC
    assert class_of(dl01, "性别") is DataClass.INTERNAL


@pytest.mark.unit
def test_a_masked_field_classed_public_is_refused() -> None:
    from licence_service.domain.licence_types import _parse_type

    raw = {"code": "XX01", "name": "x", "holder_id_type": "uscc", "validity_years": 1,
           "fields": [{"key": "a", "class": "public"}, {"key": "b", "class": "secret"}],
           "masked_fields": ["a"]}  # fmt: skip
    with pytest.raises(ValueError, match="'a' is in masked_fields, so its class must be"):
        _parse_type(raw)
    raw["masked_fields"] = []
    with pytest.raises(ValueError, match="field 'b' has class 'secret'; use one of public"):
        _parse_type(raw)


@pytest.mark.unit
@pytest.mark.parametrize("suite", ["intl", "sm"])
def test_the_field_key_seals_with_the_regions_suite(tmp_path: Path, suite: str) -> None:
    key = FieldKey(tmp_path / "field.key", suite)
    assert key.create() and not key.create()  # made once, never overwritten
    assert (tmp_path / "field.key").stat().st_mode & 0o777 == 0o600
    token = key.seal(HOLDER_ID, "licence.holder_id")
    assert token.startswith(f"fk1.{suite}.") and HOLDER_ID not in token
    assert key.open(token, "licence.holder_id") == HOLDER_ID
    with pytest.raises(FieldKeyError, match="does not open"):
        key.open(token, "consent.holder_id")  # moved to another column: refused
    assert key.holder_hash(HOLDER_ID.lower()) == key.holder_hash(f" {HOLDER_ID} ")
    other = FieldKey(tmp_path / "other.key", suite)
    other.create()
    with pytest.raises(FieldKeyError, match="not the one the database was written with"):
        other.open(token, "licence.holder_id")


@pytest.mark.unit
def test_production_needs_the_key_outside_the_data_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV_FIELD_KEY_FILE, raising=False)
    with pytest.raises(FieldKeyError, match=f"production mode needs {ENV_FIELD_KEY_FILE}"):
        FieldKey.for_home(tmp_path, production=True).create()
    monkeypatch.setenv(ENV_FIELD_KEY_FILE, str(tmp_path / "keys" / "field.key"))
    with pytest.raises(FieldKeyError, match="lies inside the data directory"):
        FieldKey.for_home(tmp_path, production=True).create()


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode) -> tuple[Runtime, str]:
    rt = region_runtime(tmp_path_factory.mktemp("classes") / "region", anvil)
    lid = issue_licence(rt, DL01).licence_id
    from tests.test_grades import scan

    submit_copy(rt, scan(), "驾驶证", "赵一鸣", HOLDER_ID, "C")
    return rt, lid


@pytest.mark.contract
def test_the_database_holds_no_sensitive_plaintext(region: tuple[Runtime, str]) -> None:
    rt, lid = region
    raw = _bytes(rt.settings.home)
    for secret in (HOLDER_ID, *SECRET.values()):
        assert secret.encode() not in raw, f"{secret} is in the database in clear"
    assert "准驾车型".encode() in raw and "赵一鸣".encode() in raw  # the search can find text
    with rt.sessions() as s:  # the objects the code uses hold the plaintext
        version = s.scalar(select(LicenceVersion).where(LicenceVersion.identifier == lid))
        assert version is not None
        assert json.loads(version.fields_json)["住址"] == SECRET["住址"]
        assert version.licence.holder_id == HOLDER_ID
        stored = s.execute(sa.text("SELECT holder_id FROM licence")).scalar_one()
        assert stored.startswith("fk1.intl.")


@pytest.mark.contract
def test_lookups_by_holder_id_still_work(region: tuple[Runtime, str]) -> None:
    rt, lid = region
    with rt.sessions() as s:
        for typed in (HOLDER_ID, HOLDER_ID.lower(), f" {HOLDER_ID} "):
            found = s.scalars(select(Licence).where(Licence.holder_id_hash ==
                                                    holder_lookup(s, typed))).all()  # fmt: skip
            assert [x.base_id for x in found] == [lid.rsplit(".", 2)[0]]
        sub = s.scalar(select(Submission).where(Submission.holder_id_hash ==
                                                holder_lookup(s, HOLDER_ID)))  # fmt: skip
        assert sub is not None and sub.holder_id == HOLDER_ID


@pytest.mark.contract
def test_each_role_sees_what_its_class_allows(region: tuple[Runtime, str]) -> None:
    rt, lid = region
    cases = {
        "issuer of the issuing agency": (_person(PersonRole.ISSUER, A1), {"all"}),
        "agency admin of the issuing agency": (_person(PersonRole.AGENCY_ADMIN, A1),
                                               {"public", "internal"}),
        "window staff of the issuing agency": (_person(PersonRole.WINDOW_STAFF, A1), {"public"}),
        "issuer of another agency": (_person(PersonRole.ISSUER, A2), {"public"}),
        "auditor": (_person(PersonRole.AUDITOR, None), {"public"}),
    }  # fmt: skip
    for who, (person, sees) in cases.items():
        meta = licence_view(rt, lid, disclosure_for(person, A1))["metadata"]
        fields = meta["fields"]
        assert fields["准驾车型"] == "C1", who  # public: everyone
        assert (fields["性别"] == "男") == bool(sees & {"internal", "all"}), who
        assert (meta["holder"] == "赵一鸣") == bool(sees & {"internal", "all"}), who
        full = "all" in sees
        assert (meta["holder_id"] == HOLDER_ID) == full, who
        assert all((fields[k] == v) == full for k, v in SECRET.items()), who


@pytest.mark.contract
def test_a_missing_key_is_a_clear_error(region: tuple[Runtime, str], anvil: AnvilNode,
                                        tmp_path: Path) -> None:  # fmt: skip
    rt, lid = region
    home = tmp_path / "copy"
    shutil.copytree(rt.settings.home, home)
    (home / "keys" / "field.key").unlink()
    with pytest.raises(FieldKeyMissingError) as missing:
        licence_view(region_runtime(home, anvil), lid)
    text = str(missing.value)
    assert str(home / "keys" / "field.key") in text and ENV_FIELD_KEY_FILE in text
    assert "Restore the file from the region's backup" in text
    res = CliRunner().invoke(cli, ["history", lid, "--data-dir", str(home)])
    assert res.exit_code == 2 and "field key" in res.output and "Traceback" not in res.output


@pytest.mark.unit
def test_the_migration_seals_rows_written_before(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:  # a database at 0012 with a plaintext licence
        command.upgrade(alembic_config(conn), "0012")
        conn.execute(sa.text(
            "INSERT INTO agency (id, code, name, region_code, region_name, chain_address, "
            "cert_pem, cert_fingerprint, created_at) VALUES (1, :a, 'x', 330100, 'x', '0x1', "
            "'-', 'ab', '2026-01-01')"), {"a": A1})  # fmt: skip
        conn.execute(sa.text(
            "INSERT INTO licence (id, base_id, type_code, agency_id, serial, holder_name, "
            "holder_id_type, holder_id, current_version, status, created_at) VALUES (1, 'L', "
            "'DL01', 1, 1, '赵一鸣', 'citizen_id', :h, 1, 'ACTIVE', '2026-01-01')"),
            {"h": HOLDER_ID})  # fmt: skip
        conn.execute(sa.text(
            "INSERT INTO licence_version (id, licence_id, version, identifier, fields_json, "
            "salts_json, data_root, issue_date, valid_from, valid_until, document_digest, "
            "pdf_path, kind, key, leaf, parent_leaf, qr_payload, link_state, created_at) VALUES "
            "(1, 1, 1, 'L.1', :f, '{}', x'00', '2026-01-01', '2026-01-01', '2030-01-01', x'00', "
            "'p', 0, x'01', x'02', x'00', 'q', 'none', '2026-01-01')"),
            {"f": json.dumps({"holder_id": HOLDER_ID, **SECRET, "准驾车型": "C1"},
                             ensure_ascii=False)})  # fmt: skip
    key = FieldKey(tmp_path / "keys" / "field.key")
    register_key(url, key)
    upgrade(engine)
    assert key.path.exists()  # made by the migration (development)
    engine.dispose()
    raw = (tmp_path / "old.db").read_bytes()
    assert all(s.encode() not in raw for s in (HOLDER_ID, *SECRET.values()))
    with make_sessions(make_engine(url), key)() as s:
        licence = s.get(Licence, 1)
        assert licence is not None and licence.holder_id == HOLDER_ID
        assert licence.holder_id_hash == key.holder_hash(HOLDER_ID)
        assert json.loads(licence.versions[0].fields_json)["档案编号"] == SECRET["档案编号"]
