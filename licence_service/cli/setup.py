"""`licledger init` and `licledger region init`: one use case, two names.

Both commands call ``run_init``; neither command calls the other, so no CLI module imports
another command module (and an error is reported once, by the command that was run).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from cryptography import x509

from licence_service.cli import people as cli_people
from licence_service.cli.common import out, print_json, runtime
from licence_service.domain.errors import InvalidInputError
from licence_service.domain.national_ids import (
    IdentifierError,
    validate_division_code,
    validate_uscc,
)
from signing.sm2_certificates import suite_of_certificate
from signing.suites import CryptoSuiteError, get_suite

RegionCodeOpt = Annotated[str, typer.Option(help="6-digit division code.")]
RegionNameOpt = Annotated[str, typer.Option(help="Region name.")]
AgencyCodeOpt = Annotated[str, typer.Option(help="Agency unified social credit code.")]
AgencyNameOpt = Annotated[str, typer.Option(help="Agency name.")]
AdminOpt = Annotated[str, typer.Option(help="Username of the first region administrator.")]
CryptoOpt = Annotated[
    str | None,
    typer.Option(
        help="Crypto suite of a new region: intl (ECDSA P-256, SHA-256, AES-GCM; the default) "
        "or sm (SM2, SM3, SM4). An existing region keeps its own; naming another is refused."
    ),
]
"""The options of `init` and `region init`: two names of one use case (``run_init``)."""


def run_init(
    data_dir: Path | None,
    region_code: str,
    region_name: str,
    agency_code: str,
    agency_name: str,
    ca_key: Path | None,
    as_json: bool,
    admin: str = "admin",
    crypto: str | None = None,
) -> None:
    """Set the region up; bad codes are refused before anything starts (no chain, no keys)."""
    try:
        validate_division_code(region_code, "region_code")
        validate_uscc(agency_code, "agency_code")
        if crypto is not None:
            get_suite(crypto)
    except IdentifierError as exc:
        raise InvalidInputError(str(exc), field=exc.field) from exc
    except CryptoSuiteError as exc:
        raise InvalidInputError(str(exc), field="crypto") from exc
    from licence_service.region.bootstrap import chain_up, init_region

    rt = runtime(data_dir)
    chain_up(rt)
    agency = init_region(
        rt, region_code, region_name, agency_code, agency_name, ca_key, crypto=crypto
    )
    info = {
        "agency_code": agency.code,
        "agency_name": agency.name,
        "region_code": agency.region_code,
        "chain_address": agency.chain_address,
        "certificate_sha256": agency.cert_fingerprint,
        "crypto": suite_of_certificate(
            x509.load_pem_x509_certificate(agency.cert_pem.encode())
        ).name,
    }
    from licence_service.region.bootstrap import membership_request_path

    request = membership_request_path(rt)
    member = rt.directory().account_region(agency.chain_address) == agency.region_code
    info["member"] = member
    if not member and request.exists():
        info["membership_request"] = str(request)
    info.update(cli_people.first_admin(rt, admin))
    if as_json:
        print_json(info)
        return
    out.print(
        f"agency {agency.name} ({agency.code}) of region {agency.region_code} ready "
        f"(crypto suite {info['crypto']})",
        markup=False,
    )
    if not member:
        out.print(
            f"region {agency.region_code} is not yet a consortium member: a member region "
            f"runs `licledger region propose --request {request}`",
            markup=False,
        )
    cli_people.print_first_admin(info)
