"""Configuration: one data directory per region, environment variables with one prefix.

Everything a region keeps (database, keys, chain state, contract addresses, PDFs) lives under
the data directory, so a region is backed up or moved by copying one folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from ledger_client.connection import DEFAULT_CHAIN_ID, ChainConfig
from ledger_client.node import NodeConfig
from licence_service.region.deadline_settings import (
    DeadlineConfigError,
    DeadlineSettings,
    load_deadline_settings,
)

ENV_PREFIX = "LICLEDGER_"
MAX_CONFIRMATIONS = 64  # ``ledger_client.index_reorg.KEEP_BLOCKS``: deeper is not watched


def _env(name: str, default: str) -> str:
    return os.environ.get(ENV_PREFIX + name, default)


class ConfigError(ValueError):
    """A setting has a value that cannot work; the message names the variable."""


def _int(name: str, default: int) -> int:
    raw = _env(name, str(default))
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{ENV_PREFIX}{name}={raw!r} is not a whole number") from exc


def _float(name: str, default: float) -> float:
    raw = _env(name, str(default))
    try:
        return float(raw)
    except ValueError as exc:
        raise ConfigError(f"{ENV_PREFIX}{name}={raw!r} is not a number") from exc


def _deadline_settings() -> DeadlineSettings:
    try:
        return load_deadline_settings()
    except DeadlineConfigError as exc:
        raise ConfigError(str(exc)) from None


def _production() -> bool:
    raw = _env("ENV", "development").strip().lower()
    if raw not in {"development", "production"}:
        raise ConfigError(f"{ENV_PREFIX}ENV={raw!r} must be 'development' or 'production'")
    return raw == "production"


def _optional_path(name: str) -> Path | None:
    raw = _env(name, "").strip()
    return Path(raw).expanduser().resolve() if raw else None


@dataclass(frozen=True)
class NotifySettings:
    """The notifier (``licence_service.notify``): where messages go and how they are retried.
    An empty SMTP host or webhook URL turns that channel off (its messages wait)."""

    smtp_host: str = ""
    smtp_port: int = 25
    smtp_from: str = "licledger@localhost"
    webhook_url: str = ""  # the SMS gateway's endpoint
    webhook_token: str = ""  # sent as a bearer token when set
    holder_channel: str = "email"  # email or sms: how holders are reached first
    timeout: float = 10.0  # one delivery attempt (SMTP or webhook)
    max_attempts: int = 8
    retry_base: float = 30.0  # seconds before the first retry, doubling
    retry_cap: float = 3600.0  # the longest wait between two attempts
    interval: float = 1.0  # the delivery worker's round
    reminder_days: tuple[int, ...] = (90, 30, 7)  # reminder thresholds before a date
    reminder_interval: float = 3600.0  # the reminder job's round


def _notify_settings() -> NotifySettings:
    """``LICLEDGER_NOTIFY_*`` (and ``LICLEDGER_REMINDER_*``), checked: a setting that cannot
    work is refused at start, naming the variable."""
    raw_days = _env("REMINDER_DAYS", "90,30,7")
    try:
        days = tuple(sorted({int(d) for d in raw_days.split(",") if d.strip()}, reverse=True))
    except ValueError:
        days = ()
    if not days or any(d < 0 or d > 3660 for d in days):
        raise ConfigError(
            f"{ENV_PREFIX}REMINDER_DAYS={raw_days!r} must be whole numbers of days, 0..3660, "
            "separated by commas (e.g. 90,30,7)"
        )
    found = NotifySettings(
        smtp_host=_env("NOTIFY_SMTP_HOST", "").strip(),
        smtp_port=_int("NOTIFY_SMTP_PORT", 25),
        smtp_from=_env("NOTIFY_SMTP_FROM", "licledger@localhost").strip(),
        webhook_url=_env("NOTIFY_WEBHOOK_URL", "").strip(),
        webhook_token=_env("NOTIFY_WEBHOOK_TOKEN", "").strip(),
        holder_channel=_env("NOTIFY_HOLDER_CHANNEL", "email").strip().lower(),
        timeout=_float("NOTIFY_TIMEOUT_SECONDS", 10.0),
        max_attempts=_int("NOTIFY_MAX_ATTEMPTS", 8),
        retry_base=_float("NOTIFY_RETRY_BASE_SECONDS", 30.0),
        retry_cap=_float("NOTIFY_RETRY_CAP_SECONDS", 3600.0),
        interval=_float("NOTIFY_INTERVAL", 1.0),
        reminder_days=days,
        reminder_interval=_float("REMINDER_INTERVAL", 3600.0),
    )
    if found.holder_channel not in ("email", "sms"):
        raise ConfigError(f"{ENV_PREFIX}NOTIFY_HOLDER_CHANNEL must be 'email' or 'sms'")
    if found.webhook_url and not found.webhook_url.startswith(("http://", "https://")):
        raise ConfigError(f"{ENV_PREFIX}NOTIFY_WEBHOOK_URL must be an http:// or https:// URL")
    if found.max_attempts < 1 or found.timeout <= 0 or found.interval <= 0:
        raise ConfigError(
            f"{ENV_PREFIX}NOTIFY_MAX_ATTEMPTS must be >= 1, {ENV_PREFIX}NOTIFY_TIMEOUT_SECONDS "
            f"and {ENV_PREFIX}NOTIFY_INTERVAL > 0"
        )
    if not 0 < found.retry_base <= found.retry_cap:
        raise ConfigError(
            f"{ENV_PREFIX}NOTIFY_RETRY_BASE_SECONDS must be > 0 and at most "
            f"{ENV_PREFIX}NOTIFY_RETRY_CAP_SECONDS"
        )
    return found


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    chain_port: int = 8545
    rpc_url: str = "http://127.0.0.1:8545"
    chain_id: int = DEFAULT_CHAIN_ID
    embedded_chain: bool = True
    api_host: str = "127.0.0.1"
    api_port: int = 8600
    public_url: str = "http://127.0.0.1:8600"
    batch_size: int = 64
    flush_interval: float = 0.5
    receipt_timeout: float = 60.0
    # Blocks on top of a batch's own before it counts as anchored (LICLEDGER_CONFIRMATIONS):
    # 0 for an engine with immediate finality (QBFT, the embedded anvil), more for Clique
    confirmations: int = 0
    # PDF files older than this with no row naming them (a crash between file and commit)
    # are moved aside by the anchoring worker (store.unrecorded)
    unrecorded_grace: float = 600.0
    threshold: int = 2  # M of the region directory's M-of-N, used when deploying
    max_upload_bytes: int = 20 * 1024 * 1024  # any request body, refused with 413 beyond
    max_json_bytes: int = 1024 * 1024  # a JSON request body, refused with 422 beyond
    max_json_depth: int = 32  # nesting of a JSON request body, scanned before it is parsed
    max_header_bytes: int = 64 * 1024  # request line and headers, refused with 431 beyond
    max_headers: int = 100  # header fields of one request, refused with 431 beyond
    header_timeout: float = 10.0  # a request's head must arrive within this (slowloris)
    verify_rate_per_minute: float = 60.0  # public verification, per client address
    # Other regions' services the window asks for a holder's consented licences:
    # "440300=https://sz.example,110100=https://bj.example" (federation.peers)
    peer_regions: str = ""
    verify_burst: int = 30
    read_limit_per_minute: int = 60  # distinct licences one person may read a minute (429 beyond)
    session_idle_seconds: float = 1800.0  # a page session idle this long ends (token revoked)
    production: bool = False  # LICLEDGER_ENV=production: key passphrase kept off the data dir
    key_passphrase_file: Path | None = None  # LICLEDGER_KEY_PASSPHRASE_FILE
    notify: NotifySettings = field(default_factory=NotifySettings)  # LICLEDGER_NOTIFY_*
    deadlines: DeadlineSettings = field(default_factory=DeadlineSettings)  # LICLEDGER_DEADLINE_*

    # ------------------------------------------------------------------ layout
    @property
    def keys_dir(self) -> Path:
        return self.home / "keys"

    @property
    def chain_dir(self) -> Path:
        return self.home / "chain"

    @property
    def pdf_dir(self) -> Path:
        return self.home / "pdfs"

    @property
    def deployment_file(self) -> Path:
        return self.home / "deployment.json"

    @property
    def passphrase_file(self) -> Path:
        """The development default: generated next to the keys (refused in production)."""
        return self.keys_dir / "passphrase"

    def chain(self) -> ChainConfig:
        return ChainConfig(
            rpc_url=self.rpc_url, chain_id=self.chain_id, receipt_timeout=self.receipt_timeout
        )

    def node(self) -> NodeConfig:
        return NodeConfig(directory=self.chain_dir, port=self.chain_port, chain_id=self.chain_id)


def _check_request_limits(settings: Settings) -> None:
    """The request limits of ``api.body_limits`` and ``api.http_limits`` must leave room for
    every genuine request (a bearer token, a cookie, a licence's face fields)."""
    if settings.max_json_bytes < 1024:
        raise ConfigError(f"{ENV_PREFIX}MAX_JSON_BYTES must be at least 1024")
    if not 4 <= settings.max_json_depth <= 200:
        raise ConfigError(f"{ENV_PREFIX}MAX_JSON_DEPTH must be between 4 and 200")
    if settings.max_header_bytes < 4096:
        raise ConfigError(f"{ENV_PREFIX}MAX_HEADER_BYTES must be at least 4096")
    if settings.max_headers < 16:
        raise ConfigError(f"{ENV_PREFIX}MAX_HEADERS must be at least 16")
    if settings.header_timeout <= 0:
        raise ConfigError(f"{ENV_PREFIX}HEADER_TIMEOUT_SECONDS must be > 0")


def _embedded(default: bool) -> bool:
    """``LICLEDGER_EMBEDDED_CHAIN=0`` says the node at the RPC URL is someone else's to run even
    when the URL is the embedded node's: ``init`` then uses it and never starts or stops a node
    (otherwise a node on the port that the data directory did not start is refused)."""
    raw = _env("EMBEDDED_CHAIN", "").strip().lower()
    if raw in ("", "auto"):
        return default
    if raw in ("1", "true", "yes"):
        return True
    if raw in ("0", "false", "no"):
        return False
    raise ConfigError(f"{ENV_PREFIX}EMBEDDED_CHAIN must be 0 or 1 (or auto), got {raw!r}")


def load_settings(home: Path | str | None = None, **overrides: object) -> Settings:
    """Settings from ``home`` (or ``LICLEDGER_HOME``, or ``./.licledger``) and the environment."""
    base = Path(home or _env("HOME", str(Path.cwd() / ".licledger"))).expanduser().resolve()
    chain_port = _int("CHAIN_PORT", 8545)
    api_port = _int("API_PORT", 8600)
    rpc_default = f"http://127.0.0.1:{chain_port}"
    rpc_url = _env("RPC_URL", rpc_default)
    settings = Settings(
        home=base,
        database_url=_env("DATABASE_URL", f"sqlite:///{base / 'licledger.db'}"),
        chain_port=chain_port,
        rpc_url=rpc_url,
        chain_id=_int("CHAIN_ID", DEFAULT_CHAIN_ID),
        embedded_chain=_embedded(rpc_url == rpc_default),
        api_host=_env("API_HOST", "127.0.0.1"),
        api_port=api_port,
        public_url=_env("PUBLIC_URL", f"http://127.0.0.1:{api_port}"),
        batch_size=_int("BATCH_SIZE", 64),
        flush_interval=_float("FLUSH_INTERVAL", 0.5),
        receipt_timeout=_float("RECEIPT_TIMEOUT", 60.0),
        confirmations=_int("CONFIRMATIONS", 0),
        unrecorded_grace=_float("UNRECORDED_GRACE_SECONDS", 600.0),
        threshold=_int("DIRECTORY_THRESHOLD", 2),
        max_upload_bytes=_int("MAX_UPLOAD_BYTES", 20 * 1024 * 1024),
        max_json_bytes=_int("MAX_JSON_BYTES", 1024 * 1024),
        max_json_depth=_int("MAX_JSON_DEPTH", 32),
        max_header_bytes=_int("MAX_HEADER_BYTES", 64 * 1024),
        max_headers=_int("MAX_HEADERS", 100),
        header_timeout=_float("HEADER_TIMEOUT_SECONDS", 10.0),
        verify_rate_per_minute=_float("VERIFY_RATE_PER_MINUTE", 60.0),
        peer_regions=_env("PEER_REGIONS", ""),
        verify_burst=_int("VERIFY_BURST", 30),
        read_limit_per_minute=_int("READ_LIMIT_PER_MINUTE", 60),
        session_idle_seconds=_float("SESSION_IDLE_SECONDS", 1800.0),
        production=_production(),
        key_passphrase_file=_optional_path("KEY_PASSPHRASE_FILE"),
        notify=_notify_settings(),
        deadlines=_deadline_settings(),
    )
    if settings.batch_size < 1 or settings.batch_size > 1024:
        raise ConfigError(f"{ENV_PREFIX}BATCH_SIZE must be between 1 and 1024")
    if not 0 <= settings.confirmations <= MAX_CONFIRMATIONS:
        raise ConfigError(
            f"{ENV_PREFIX}CONFIRMATIONS must be between 0 and {MAX_CONFIRMATIONS} blocks "
            "(0: immediate finality, as QBFT; a few for Clique)"
        )
    if settings.max_upload_bytes < 1024:
        raise ConfigError(f"{ENV_PREFIX}MAX_UPLOAD_BYTES must be at least 1024")
    _check_request_limits(settings)
    if settings.verify_rate_per_minute <= 0 or settings.verify_burst < 1:
        raise ConfigError(
            f"{ENV_PREFIX}VERIFY_RATE_PER_MINUTE must be > 0 and {ENV_PREFIX}VERIFY_BURST >= 1"
        )
    if settings.read_limit_per_minute < 1:
        raise ConfigError(f"{ENV_PREFIX}READ_LIMIT_PER_MINUTE must be at least 1")
    return replace(settings, **overrides) if overrides else settings  # type: ignore[arg-type]
