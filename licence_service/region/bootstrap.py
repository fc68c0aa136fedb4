"""Setting a region up: chain deployment, region authority, agency keys, issuer registration.

Every step is idempotent, so `licledger init` (and the demo) can run again safely and finish
a set-up that a crash interrupted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from eth_account.signers.local import LocalAccount
from sqlalchemy import select

from ledger_client.accounts import create_account, save_account
from ledger_client.directory import Action, AgencyAccount, NewCertificate
from licence_service.audit import oplog
from licence_service.domain.errors import InvalidInputError, NotSetUpError
from licence_service.domain.national_ids import (
    IdentifierError,
    validate_division_code,
    validate_uscc,
)
from licence_service.region.at_rest import region_ca, region_ca_cert_path
from licence_service.region.runtime import REGION_CA, Runtime, agency_credentials_name
from licence_service.store.models import Agency
from signing.credentials import Credentials, create_ca, issue_agency
from signing.keystore import credentials_exist, load_any_credentials, save_credentials
from signing.sm2_certificates import suite_of_certificate
from signing.suites import INTL, CryptoSuite, CryptoSuiteError, get_suite

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


def member_account(rt: Runtime, region: int) -> LocalAccount | None:
    """A chain account of this region that the on-chain directory lists, if we hold one."""
    directory = rt.directory()
    with rt.sessions() as s:
        codes = [a.code for a in s.scalars(select(Agency).where(Agency.region_code == region))]
    for code in codes:
        account = rt.agency_account(code)
        if directory.account_region(account.address) == region:
            return account
    return None


def membership_request_path(rt: Runtime) -> Path:
    return rt.settings.home / "membership-request.json"


def join_directory(
    rt: Runtime, region: int, region_name: str, agency_code: str, account: str, creds: Credentials
) -> str:
    """Put this agency's account and signing certificate in the consortium's directory.

    The first region bootstraps the directory (as its deployer). An agency of a member region
    is added by a proposal of that region (executed at once while one approval suffices).
    A region not yet a member writes a membership request for existing members to propose.
    Returns what happened: ``member``, ``bootstrapped``, ``proposed`` or ``requested``.
    """
    directory = rt.directory()
    cert = NewCertificate(agency_code, creds.cert.public_bytes(Encoding.DER))
    if directory.account_region(account) == region:
        return "member"
    if not directory.region_codes():
        if rt.operator_account().address != rt.deployment.deployer:
            raise NotSetUpError("the directory has no region yet; its deployer bootstraps it")
        rt.directory(rt.operator_account()).bootstrap(
            region, region_name, [AgencyAccount(account, agency_code)], [cert]
        )
        return "bootstrapped"
    info = directory.region(region)
    proposer = member_account(rt, region) if info is not None and info.active else None
    if proposer is not None:
        own = rt.directory(proposer)
        own.propose(Action.ADD_ACCOUNT, region, account=account, agency_code=agency_code)
        own.propose(Action.ADD_CERTIFICATE, region, certificate=cert)
        return "proposed"
    request = {
        "region": region,
        "name": region_name,
        "account": account,
        "agency_code": agency_code,
        "certificate": cert.der.hex(),
    }
    membership_request_path(rt).write_text(json.dumps(request, ensure_ascii=False, indent=2))
    return "requested"


def region_suite_of(ca_cert: Path) -> CryptoSuite:
    """A region's crypto suite: its CA certificate's."""
    return suite_of_certificate(x509.load_pem_x509_certificate(ca_cert.read_bytes()))


def _check_suite(region: int, suite: CryptoSuite, wanted: CryptoSuite | None) -> None:
    if wanted is not None and wanted is not suite:
        raise InvalidInputError(
            f"region {region} was set up with crypto suite {suite.name} (its region CA is "
            f"{suite.signature}); --crypto {wanted.name} cannot change it: a region keeps one "
            f"suite. Leave --crypto out, or set up the other suite in a new data directory",
            field="crypto",
        )


def init_region(
    rt: Runtime,
    region_code: str = DEFAULT_REGION[0],
    region_name: str = DEFAULT_REGION[1],
    agency_code: str = DEFAULT_AGENCY[0],
    agency_name: str = DEFAULT_AGENCY[1],
    ca_key: Path | None = None,
    crypto: str | None = None,
) -> Agency:
    """Create (or complete) the region authority and one agency; returns the agency row.

    A new agency's certificate is issued by the region CA: its key from the data directory,
    or from ``ca_key`` when it is kept offline. ``crypto`` is the suite of a new region
    (``intl`` by default, or ``sm``); a region keeps the suite of its CA for ever, so naming
    another one for an existing region is refused before anything changes."""
    try:
        wanted = get_suite(crypto) if crypto is not None else None
    except CryptoSuiteError as exc:
        raise InvalidInputError(str(exc), field="crypto") from exc
    try:
        region = int(validate_division_code(region_code, "region_code"))
        agency_code = validate_uscc(agency_code, "agency_code")
    except IdentifierError as exc:
        raise InvalidInputError(str(exc), field=exc.field) from exc
    if not region_name.strip() or not agency_name.strip():
        raise InvalidInputError("region and agency names must not be empty", field="name")
    keys = rt.settings.keys_dir
    secret = rt.passphrase.encode()

    ca_cert = region_ca_cert_path(rt.settings, REGION_CA, region)
    if ca_cert is None:  # a new region: its CA is made here; its key may then go offline
        new_ca = create_ca(wanted or INTL, str(region), region_name)
        save_credentials(keys, REGION_CA, new_ca, secret)
        ca_cert = region_ca_cert_path(rt.settings, REGION_CA, region)
        assert ca_cert is not None
    _check_suite(region, region_suite_of(ca_cert), wanted)
    trust = keys / "trust"
    trust.mkdir(parents=True, exist_ok=True)
    if ca_cert != trust / f"{region}.pem":
        (trust / f"{region}.pem").write_bytes(ca_cert.read_bytes())

    name = agency_credentials_name(agency_code)
    if not credentials_exist(keys, name):
        ca = region_ca(rt.settings, REGION_CA, region, secret, ca_key)
        creds = issue_agency(ca, agency_code, agency_name, str(region))
        save_credentials(keys, name, creds, secret)
    creds = load_any_credentials(keys, name, secret)

    chain_path = keys / f"agency-{agency_code}.chain.json"
    if not chain_path.exists():
        save_account(chain_path, create_account(), rt.passphrase)
    account = rt.agency_account(agency_code)

    join_directory(rt, region, region_name, agency_code, account.address, creds)

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
