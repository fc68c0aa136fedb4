"""How a holder signs in to the wallet, and the one place another identity provider plugs in.

:class:`HolderIdentity` is the interface: ``start`` takes what the holder typed and returns a
:class:`Challenge`; ``finish`` takes the challenge and the holder's answer and returns the
verified :class:`~licence_service.people.holders.HolderInfo`. The wallet's pages and API only
call these two methods and then open a wallet session (:func:`open_holder_session`).

:class:`LocalHolderIdentity` is this service's own implementation: the ID number and password
(argon2id, the sign-in throttle of staff accounts, ``people.signin.check_password_of``, under
the key ``holder:<keyed hash of the ID>``: the throttle's rows hold no ID), then a six-digit
one-time code sent through a :class:`CodeSender`
to the contact given at activation, valid :data:`CODE_SECONDS` seconds, :data:`CODE_TRIES`
tries. The national unified identity platform (国家政务服务平台统一身份认证) would be a second
implementation: ``start`` returns a challenge whose ``redirect`` is the platform's
authorisation URL (the challenge id its ``state``), ``finish`` exchanges the ticket the
platform sends back for the ID number it asserts. Nothing else changes.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from licence_service.audit import oplog
from licence_service.notify import Channel, enqueue
from licence_service.people.holder_models import HolderChallenge, HolderSession
from licence_service.people.holders import (
    HolderInfo,
    account_of,
    holder_account,
    holder_info,
    mask_contact,
    parse_holder_id,
    throttle_name,
)
from licence_service.people.identity import AuthenticationError
from licence_service.people.service import aware
from licence_service.people.sessions import end_session, open_session, resolve_row
from licence_service.people.signin import check_password_of
from licence_service.region.runtime import Runtime

CODE_SECONDS = 300
CODE_TRIES = 5
HOLDER_SCHEME = "llh_"  # a wallet session id: never a staff session (lls_) nor a token (llt_)


class CodeSender(Protocol):
    """Sends a one-time code to a holder's contact (e-mail or mobile number). ``session`` is
    the transaction that records the challenge: an outbox enqueues in it, so a code is sent
    exactly when its challenge exists; ``key`` names the message for good."""

    def send_code(self, session: Session, key: str, contact: str, subject: str,
                  text: str) -> None: ...  # fmt: skip


class OutboxCodeSender:
    """The notifier's outbox (:mod:`licence_service.notify`): e-mail or SMS by the contact,
    delivered by its worker (SMTP or the SMS gateway's webhook) with retries."""

    def send_code(self, session: Session, key: str, contact: str, subject: str,
                  text: str) -> None:  # fmt: skip
        channel = Channel.EMAIL if "@" in contact else Channel.SMS
        enqueue(session, dedupe_key=key, channel=channel, recipient=contact, subject=subject,
                body=text)  # fmt: skip


class FileCodeSender:
    """A sender for a data directory with no notifier configured (development): appends
    each message as a JSON line to ``run/holder-codes.jsonl`` (0600)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def send_code(self, session: Session, key: str, contact: str, subject: str,
                  text: str) -> None:  # fmt: skip
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        line = json.dumps({"to": contact, "subject": subject, "text": text,
                           "at": datetime.now(UTC).isoformat()}, ensure_ascii=False)  # fmt: skip
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as f:
            f.write(line + "\n")


def default_sender(rt: Runtime) -> CodeSender:
    """The outbox when a notifier (SMTP host or SMS webhook) is configured; else the file
    sender of a development data directory."""
    notify = rt.settings.notify
    if notify.smtp_host or notify.webhook_url:
        return OutboxCodeSender()
    return FileCodeSender(rt.settings.home / "run" / "holder-codes.jsonl")


@dataclass(frozen=True)
class Challenge:
    """The sign-in's second step: the browser keeps ``challenge_id``; ``sent_to`` says where
    the code went (masked); ``redirect`` is set by providers that sign in elsewhere."""

    challenge_id: str
    sent_to: str
    expires_at: datetime
    redirect: str | None = None


class HolderIdentity(Protocol):
    """Who a holder is: the plug for the national unified identity platform."""

    def start(self, holder_id: str, secret: str, client: str) -> Challenge: ...

    def finish(self, challenge_id: str, response: str, client: str) -> HolderInfo: ...


def _sha(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def _live(row: HolderChallenge, now: datetime) -> bool:
    return (row.used_at is None and row.failures < CODE_TRIES
            and aware(row.expires_at) > now and row.account.disabled_at is None)  # fmt: skip


class LocalHolderIdentity:
    """Password, then a one-time code through ``sender`` (see the module's docstring)."""

    def __init__(self, rt: Runtime, sender: CodeSender) -> None:
        self.rt, self.sender = rt, sender

    def start(self, holder_id: str, secret: str, client: str) -> Challenge:
        holder, _ = parse_holder_id(holder_id)
        with self.rt.sessions() as s:
            username = throttle_name(s, holder)
        who = check_password_of(self.rt, username, secret, client,
                                holder_account, "or ask at the window for a new activation "
                                "code, which resets the password")  # fmt: skip
        challenge_id, code = f"llc_{secrets.token_urlsafe(24)}", f"{secrets.randbelow(10**6):06d}"
        expires = datetime.now(UTC) + timedelta(seconds=CODE_SECONDS)
        with oplog.acting_as(who.label, "holder"), self.rt.sessions.begin() as s:
            row = account_of(s, holder)
            assert row is not None  # the password was just checked
            s.add(HolderChallenge(account_id=row.id, challenge_hash=_sha(challenge_id),
                                  code_hash=_sha(code), expires_at=expires,
                                  failures=0))  # fmt: skip
            oplog.record(s, "holder:code-sent", who.label, to=mask_contact(row.contact))
            self.sender.send_code(
                s, f"wallet-code:{_sha(challenge_id).hex()}", who.contact,
                "电子证照钱包登录验证码 / Wallet sign-in code",
                f"验证码 {code}，{CODE_SECONDS // 60} 分钟内有效。"
                f"Your wallet sign-in code is {code} (valid {CODE_SECONDS // 60} minutes). "
                "如非本人操作请忽略。",
            )  # fmt: skip
        return Challenge(challenge_id, mask_contact(who.contact), expires)

    def finish(self, challenge_id: str, response: str, client: str) -> HolderInfo:
        now, refused = datetime.now(UTC), "the sign-in code is wrong or expired: sign in again"
        found: HolderInfo | None = None
        with self.rt.sessions.begin() as s:
            row = s.scalar(select(HolderChallenge)
                           .where(HolderChallenge.challenge_hash == _sha(challenge_id.strip()))
                           .with_for_update())  # fmt: skip
            if row is not None and _live(row, now):
                who = holder_info(row.account)
                with oplog.acting_as(who.label, "holder"):
                    if secrets.compare_digest(row.code_hash, _sha(response.strip())):
                        row.used_at, found = now, who
                        oplog.record(s, "holder:sign-in", who.label, client=client)
                    else:
                        row.failures += 1
                        oplog.record(s, "holder:code-refused", who.label,
                                     client=client, failures=row.failures)  # fmt: skip
        if found is None:
            raise AuthenticationError(refused, field="code")
        return found


def open_holder_session(rt: Runtime, holder: HolderInfo) -> str:
    """A wallet session for a holder the identity provider just verified (id shown once)."""
    with rt.sessions.begin() as s:
        row = account_of(s, holder.holder_id)
        if row is None or row.disabled_at is not None:
            raise AuthenticationError(f"no wallet account for {holder.label}", "holder_id")
        return open_session(s, HolderSession, HOLDER_SCHEME, account_id=row.id)


def resolve_holder_session(rt: Runtime, session_id: str, idle_seconds: float) -> HolderInfo:
    """The holder of a live wallet session (idle, expired or unknown: refused and deleted)."""
    return resolve_row(rt, HolderSession, session_id, idle_seconds,
                       lambda row: row.account, holder_info)  # fmt: skip


def end_holder_session(rt: Runtime, session_id: str) -> None:
    end_session(rt, session_id, HolderSession, lambda row: holder_info(row.account).label)
