"""The holder's wallet API (``/api/v1/wallet/...``): activation at the window, registration,
sign-in in two steps, and the holder's own licences, uses, PDFs, copies, consents and
presentation codes. Each route parses, calls one use case (``people.holders``,
``people.holder_signin``, ``services.wallet``, ``services.presentation``) and presents."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from licence_service.api.deps import RuntimeDep, require_role
from licence_service.api.routers.licences import ERRORS
from licence_service.api.wallet_auth import (
    Holder,
    end_wallet_session,
    identity,
    start_wallet_session,
)
from licence_service.domain.errors import NotFoundError
from licence_service.people.holders import issue_activation, mask_contact, register_holder
from licence_service.people.identity import PersonInfo, PersonRole
from licence_service.services import wallet
from licence_service.services.presentation import make_presentation

router = APIRouter(prefix="/wallet", tags=["wallet"])
Activator = Annotated[PersonInfo, Depends(require_role(PersonRole.WINDOW_STAFF, PersonRole.ISSUER))]


class ActivationIn(BaseModel):
    holder_id: str = Field(description="citizen ID or unified social credit code")


class RegisterIn(BaseModel):
    holder_id: str
    activation_code: str = Field(description="the code window staff issued on paper")
    password: str
    contact: str = Field(description="e-mail address or mobile number for sign-in codes")


class SignInIn(BaseModel):
    holder_id: str
    password: str


class CodeIn(BaseModel):
    challenge: str
    code: str


class CopyIn(BaseModel):
    purpose: str
    recipient: str
    valid_until: date


class ConsentIn(BaseModel):
    grantee_region: int
    purpose: str
    valid_until: date
    fields_in_full: list[str] = Field(default_factory=list)


class PresentIn(BaseModel):
    fields: list[str] = Field(default_factory=list, description="names of the fields shown")


@router.post("/activations", status_code=201, responses=ERRORS)
def activation_endpoint(body: ActivationIn, rt: RuntimeDep, staff: Activator) -> dict[str, Any]:
    """Window staff (or an issuer), having checked the person's ID card, issue the one-use
    code that opens (or resets) that ID's wallet; shown once, handed over on paper."""
    code = issue_activation(rt, staff, body.holder_id)
    return {"holder_id": code.holder_id, "activation_code": code.code,
            "expires_at": code.expires_at.isoformat()}  # fmt: skip


@router.post("/register", status_code=201, responses=ERRORS)
def register_endpoint(body: RegisterIn, rt: RuntimeDep) -> dict[str, Any]:
    """Create the wallet account of an ID number with the activation code issued for it."""
    holder = register_holder(rt, body.holder_id, body.activation_code, body.password,
                             body.contact)  # fmt: skip
    return {"holder_id": holder.holder_id, "contact": mask_contact(holder.contact)}


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post("/sign-in", responses={**ERRORS, 429: ERRORS[401]})
def sign_in_endpoint(body: SignInIn, request: Request) -> dict[str, Any]:
    """Step 1: ID number and password (throttled as staff sign-in); a one-time code is sent."""
    challenge = identity(request).start(body.holder_id, body.password, _client(request))
    return {"challenge": challenge.challenge_id, "sent_to": challenge.sent_to,
            "expires_at": challenge.expires_at.isoformat()}  # fmt: skip


@router.post("/sign-in/code", responses=ERRORS)
async def code_endpoint(body: CodeIn, request: Request, response: Response) -> dict[str, Any]:
    """Step 2: the one-time code; opens the wallet session (cookie) and returns the CSRF
    token the wallet's state-changing calls send as ``X-CSRF-Token``."""
    holder = await run_in_threadpool(identity(request).finish, body.challenge, body.code,
                                     _client(request))  # fmt: skip
    token = await start_wallet_session(request, response, holder)
    return {"holder_id": holder.holder_id, "csrf_token": token}


@router.post("/sign-out")
def sign_out_endpoint(request: Request, response: Response, holder: Holder) -> dict[str, str]:
    end_wallet_session(request, response)
    return {"signed_out": holder.holder_id}


@router.get("/licences", responses=ERRORS)
def licences_endpoint(rt: RuntimeDep, holder: Holder) -> list[dict[str, Any]]:
    """The signed-in holder's licences of this region."""
    return wallet.my_licences(rt, holder)


@router.get("/licences/{licence_id}", responses=ERRORS)
def licence_endpoint(licence_id: str, rt: RuntimeDep, holder: Holder) -> dict[str, Any]:
    """One of the holder's licences: versions, status, copies, uses and consents."""
    return wallet.wallet_licence(rt, holder, licence_id)


@router.get("/licences/{licence_id}/pdf", response_class=FileResponse, responses=ERRORS)
def pdf_endpoint(
    licence_id: str, rt: RuntimeDep, holder: Holder,
    document: Annotated[str | None, Query(description="a version's or copy's identifier")] = None,
) -> FileResponse:  # fmt: skip
    """The signed PDF of the licence (or of one of its versions or copies)."""
    wanted = document or licence_id
    if wallet.own_licence(rt, holder, wanted) != wallet.own_licence(rt, holder, licence_id):
        raise NotFoundError(f"{wanted} is no document of {licence_id}", field="document")
    path = wallet.wallet_pdf(rt, holder, wanted)
    return FileResponse(path, media_type="application/pdf",
                        filename=f"{wanted.replace('/', '-')}.pdf")  # fmt: skip


@router.post("/licences/{licence_id}/copies", status_code=201, responses=ERRORS)
def copy_endpoint(licence_id: str, body: CopyIn, rt: RuntimeDep, holder: Holder) -> dict[str, Any]:
    """A use-specific copy for one of the allowed purposes, signed and anchored."""
    made = wallet.wallet_copy(rt, holder, licence_id, body.purpose, body.recipient,
                              body.valid_until)  # fmt: skip
    return {"identifier": made.identifier, "valid_until": str(made.valid_until),
            "purpose": body.purpose}  # fmt: skip


@router.post("/licences/{licence_id}/consents", status_code=201, responses=ERRORS)
def consent_endpoint(
    licence_id: str, body: ConsentIn, rt: RuntimeDep, holder: Holder
) -> dict[str, Any]:
    """The holder's consent to release this licence to another region for one purpose."""
    return wallet.wallet_grant(rt, holder, licence_id, body.grantee_region, body.purpose,
                               body.valid_until, body.fields_in_full)  # fmt: skip


@router.post("/consents/{consent_id}/withdraw", responses=ERRORS)
def withdraw_endpoint(consent_id: int, rt: RuntimeDep, holder: Holder) -> dict[str, Any]:
    return wallet.wallet_withdraw(rt, holder, consent_id)


@router.post("/licences/{licence_id}/presentation", responses=ERRORS)
def presentation_endpoint(
    licence_id: str, body: PresentIn, rt: RuntimeDep, holder: Holder
) -> dict[str, Any]:
    """A fresh presentation code (亮证) of the licence with the chosen fields: valid 2 minutes;
    the wallet page asks for a new one every 30 s."""
    return make_presentation(rt, holder, licence_id, body.fields)
