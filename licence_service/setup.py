"""Setting a region up: chain deployment, region authority, agency keys, issuer registration.

Every step is idempotent, so `licledger init` (and the demo) can run again safely and finish
a set-up that a crash interrupted.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import select

from ledger_client.accounts import create_account, save_account
from licence_service.audit import oplog
from licence_service.errors import InvalidInputError
from licence_service.identifiers import IdentifierError, validate_division_code, validate_uscc
from licence_service.models import Agency
from licence_service.runtime import REGION_CA, Runtime, agency_credentials_name
from signing.certificates import create_region_ca, issue_agency_certificate
from signing.keystore import credentials_exist, load_credentials, save_credentials

DEFAULT_REGION = ("330100", "杭州市")
DEFAULT_AGENCY = ("11330100002489458U", "杭州市市场监督管理局")
# The second approver of joint reviews in the packaged licence types (FP01 cancellations).
HEALTH_AGENCY = ("11330100002489466N", "杭州市卫生健康委员会")


@dataclass(frozen=True)
class ChainUp:
    started_node: bool
    deployed: bool
    registry: str
    block_number: int


def chain_up(rt: Runtime) -> ChainUp:
    """Start the embedded node if configured and make sure the contracts are deployed."""
    started = rt.node.start() if rt.settings.embedded_chain else False
    dep, deployed = rt.ensure_deployment()
    return ChainUp(started, deployed, dep.registry, int(rt.w3.eth.block_number))


def init_region(
    rt: Runtime,
    region_code: str = DEFAULT_REGION[0],
    region_name: str = DEFAULT_REGION[1],
    agency_code: str = DEFAULT_AGENCY[0],
    agency_name: str = DEFAULT_AGENCY[1],
) -> Agency:
    """Create (or complete) the region authority and one agency; returns the agency row."""
    try:
        region = int(validate_division_code(region_code, "region_code"))
        agency_code = validate_uscc(agency_code, "agency_code")
    except IdentifierError as exc:
        raise InvalidInputError(str(exc), field=exc.field) from exc
    if not region_name.strip() or not agency_name.strip():
        raise InvalidInputError("region and agency names must not be empty", field="name")
    keys = rt.settings.keys_dir
    secret = rt.passphrase.encode()

    if not credentials_exist(keys, REGION_CA):
        save_credentials(keys, REGION_CA, create_region_ca(str(region), region_name), secret)
    ca = load_credentials(keys, REGION_CA, secret)
    trust = keys / "trust"
    trust.mkdir(parents=True, exist_ok=True)
    (trust / f"{region}.pem").write_bytes(ca.cert.public_bytes(Encoding.PEM))

    name = agency_credentials_name(agency_code)
    if not credentials_exist(keys, name):
        creds = issue_agency_certificate(ca, agency_code, agency_name, str(region))
        save_credentials(keys, name, creds, secret)
    creds = load_credentials(keys, name, secret)

    chain_path = keys / f"agency-{agency_code}.chain.json"
    if not chain_path.exists():
        save_account(chain_path, create_account(), rt.passphrase)
    account = rt.agency_account(agency_code)

    operator = rt.registry(rt.operator_account())
    if operator.issuer_region(account.address) == 0:
        operator.register_issuer(account.address, region)

    with rt.sessions.begin() as s:
        agency = s.scalar(select(Agency).where(Agency.code == agency_code))
        if agency is None:
            agency = Agency(
                code=agency_code,
                name=agency_name,
                region_code=region,
                region_name=region_name,
                chain_address=account.address,
                cert_pem=creds.cert.public_bytes(Encoding.PEM).decode(),
                cert_fingerprint=creds.fingerprint,
            )
            s.add(agency)
            s.flush()
            oplog.record(s, "agency:init", agency_code, region=region, account=account.address)
        s.expunge(agency)
    return agency
