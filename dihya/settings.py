"""Settings: ``DIHYA_*`` environment variables, read once at start into one frozen object.

Secrets are ``SecretStr`` so they never show in a repr or a log line; connection URLs are
``SecretUrl``, which shows them with the password masked. The optional TOML file
(``DIHYA_CONFIG_FILE``) holds structured configuration: the RBAC matrix and approval policies.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.argtypes import Duration
from bot.errors import UserError

__all__ = ["SecretUrl", "Settings", "SettingsError", "load_settings"]
URL_MASK = "***"


class SecretUrl(SecretStr):
    """A connection URL (``postgresql://user:PASSWORD@host/db``): its repr and str mask the
    password, ``get_secret_value()`` gives the URL to connect with, ``password`` the redaction filter."""

    def _display(self) -> str:
        return masked_url(self.get_secret_value())

    @property
    def passwords(self) -> tuple[str, ...]:
        """The password in the user part and any ``password=`` query parameter, as written and
        percent-decoded (a driver's error may quote either)."""
        try:
            parts = urlsplit(self.get_secret_value())
            found = [parts.password or ""] + [v for k, v in parse_qsl(parts.query) if k.lower() == "password"]
        except ValueError:
            return ()
        return tuple(dict.fromkeys(q for p in found for q in (p, unquote(p)) if q))


def masked_url(url: str) -> str:
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:  # not a URL we can take apart (a bad port): show nothing of it
        return URL_MASK if url else ""
    if password:
        user, _, host = parts.netloc.rpartition("@")
        name = user.partition(":")[0]
        parts = parts._replace(netloc=f"{name}:{URL_MASK}@{host}")
    if "password=" in parts.query.lower():
        query = "&".join(f"{k}={URL_MASK if k.lower() == 'password' else v}"
                         for k, v in parse_qsl(parts.query, keep_blank_values=True))
        parts = parts._replace(query=query)
    return parts.geturl()

DURATION = Duration(60, 90 * 86400)  # an API token's lifetime (issue 13)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DIHYA_", frozen=True, extra="ignore")

    data_dir: Path = Path("var")
    database_url: SecretUrl = SecretUrl("")
    jobs: Literal["local", "celery"] = "local"
    redis_url: SecretUrl = SecretUrl("redis://127.0.0.1:6379/0")
    secret_key: SecretStr | None = None
    admins: Annotated[tuple[str, ...], NoDecode] = ("console:admin1",)
    config_file: Path | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_file: Path | None = None
    rate_limit_per_minute: int = Field(default=60, ge=0)
    rate_limit_burst: int = Field(default=20, ge=1)
    identity_cache_seconds: float = Field(default=2.0, ge=0)
    dedupe_window: int = Field(default=20_000, ge=100)  # delivery ids remembered (platform retries come within minutes)
    audit_flush_ms: int = Field(default=20, ge=1, le=5000)
    console_user: str = Field(default="admin1", pattern=r"^[A-Za-z0-9._-]{1,64}$")
    console_channel: str = "main"
    http_port: int = Field(default=8080, ge=1, le=65535)
    http_host: str = "127.0.0.1"
    content_dir: Path = Path(__file__).resolve().parent.parent / "content"
    job_workers: int = Field(default=2, ge=1, le=64)
    job_stale_seconds: float = Field(default=30.0, gt=0)
    job_sweep_seconds: float = Field(default=10.0, gt=0)
    celery_visibility_timeout: int = Field(default=3600, ge=1)
    leader_lease_seconds: float = Field(default=15.0, ge=1, le=60)  # leader duties move within 4/3 of it
    broker_url: SecretUrl = SecretUrl("")  # Celery broker, e.g. amqp://… (RabbitMQ); empty: Redis (issue 16)
    docker_url: str | None = None  # else DOCKER_HOST / the local socket
    ssh_user: str | None = Field(default=None, pattern=r"^[a-z_][a-z0-9_-]{0,31}$")  # Ansible's, to inventory servers
    ssh_port: int | None = Field(default=None, ge=1, le=65535)
    ssh_key_file: Path | None = None
    ssh_known_hosts: Path | None = None
    ssh_python: str | None = Field(default=None, pattern=r"^/[A-Za-z0-9._/-]+$")  # else Ansible discovers it
    kubernetes_api_url: str | None = None  # else the kubeconfig

    matrix_homeserver: str | None = None
    matrix_user_id: str | None = None
    matrix_password: SecretStr | None = None
    matrix_rooms: Annotated[tuple[str, ...], NoDecode] = ()
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    telegram_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    telegram_mode: Literal["polling", "webhook"] = "polling"
    telegram_webhook_secret: SecretStr | None = None
    prometheus_url: str | None = None
    alertmanager_url: str | None = None
    alert_webhook_token: SecretStr | None = None
    alerts_channel: str | None = None
    # -- monitoring, alerts, incidents (issue 5) ------------------------------------------------
    grafana_url: str | None = None
    prometheus_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    alertmanager_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    alert_storm_threshold: int = Field(default=5, ge=1)  # own messages per channel per window, then a summary
    alert_storm_window_seconds: int = Field(default=60, ge=1)
    # -- end monitoring --------------------------------------------------------------------------

    # -- CI/CD pipelines (issue 15) -------------------------------------------------------------
    github_webhook_secret: SecretStr | None = None  # /hooks/github: HMAC key of X-Hub-Signature-256
    gitlab_webhook_token: SecretStr | None = None  # /hooks/gitlab: the X-Gitlab-Token value
    jenkins_webhook_token: SecretStr | None = None  # /hooks/jenkins: the bearer token
    ci_webhook_max_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    pipeline_poll_seconds: float = Field(default=5.0, gt=0, le=300)  # how often a running pipeline is read
    pipeline_http_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    grafana_token: SecretStr | None = None  # service-account token: annotations for deploys and pipelines
    # -- end pipelines ----------------------------------------------------------------------------

    # -- compliance (issue 6) -------------------------------------------------------------------
    secret_keys_old: SecretStr | None = None  # comma-separated older keys, still readable (rotation)
    audit_anchor_file: Path | None = None  # head hashes appended here (keep it off the database volume)
    audit_channel: str | None = None  # PLATFORM:CHANNEL where anchors are posted
    audit_anchor_seconds: float = Field(default=300.0, gt=0)
    audit_signing_key: SecretStr | None = None  # Ed25519 private key: PEM text or a path to a PEM file
    retention_days: int | None = Field(default=None, ge=1)  # audit rows and job logs older are purged
    retention_check_seconds: float = Field(default=3600.0, gt=0)
    scan_concurrency: int = Field(default=2, ge=1, le=16)  # audit exports, gdpr exports and verifications at once
    # -- end compliance ---------------------------------------------------------------------------

    # -- HTTP ingress (issue 10) ----------------------------------------------------------------
    slack_max_body_bytes: int = Field(default=1 << 20, ge=1024)  # bodies are read at most this far
    telegram_max_body_bytes: int = Field(default=1 << 20, ge=1024)
    alert_webhook_max_body_bytes: int = Field(default=8 << 20, ge=1024)
    alert_queue_size: int = Field(default=1000, ge=1)  # deliveries waiting; when full the webhook answers 503
    http_header_timeout_seconds: float = Field(default=10.0, gt=0, le=300)  # a request head must arrive within
    http_body_timeout_seconds: float = Field(default=30.0, gt=0, le=600)  # and its body within this after it
    http_max_header_bytes: int = Field(default=16 * 1024, ge=1024, le=1 << 20)
    health_timeout_seconds: float = Field(default=0.5, gt=0, le=30)  # /healthz, /metrics database checks
    health_fresh_seconds: float = Field(default=1.0, ge=0, le=30)  # /healthz reuses a success this long
    metrics_token: SecretStr | None = None  # /metrics then wants "Authorization: Bearer <token>"
    log_max_bytes: int = Field(default=50 << 20, ge=1024)  # the log file rotates at this size
    log_backups: int = Field(default=5, ge=1, le=100)
    # -- end HTTP ingress -----------------------------------------------------------------------
    # -- REST API authentication (issue 13) -------------------------------------------------------
    api_token_ttl: int = Field(default=12 * 3600, ge=60, le=90 * 86400)  # seconds, or a duration: 12h, 7d
    api_oidc_issuer: str | None = None  # an OpenID provider whose access tokens the API accepts
    api_oidc_audience: str | None = None  # required with the issuer: the ``aud`` its tokens carry for Dihya
    api_oidc_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    api_channel: str | None = None  # platform:channel where approvals the HTTP API asks for are posted
    # -- end REST API ---------------------------------------------------------------------------------
    # -- plugins (issue 17): installed distributions whose entry points are loaded; none unless named
    plugins: Annotated[tuple[str, ...], NoDecode] = ()

    @field_validator("admins", "matrix_rooms", "plugins", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(item.strip() for item in value.split(",") if item.strip())
        return value

    @field_validator("api_token_ttl", mode="before")
    @classmethod
    def _duration(cls, value: object) -> object:
        """``12h``, ``30m``, ``7d`` (as ``dihya token create --ttl`` reads them) as well as plain seconds."""
        if isinstance(value, str) and not value.strip().isdigit():
            try:
                return DURATION.convert(value, "")
            except UserError:
                raise ValueError("must be seconds or a duration such as 12h, 30m or 7d, "
                                 "from 1 minute to 90 days") from None
        return value

    @field_validator("admins")
    @classmethod
    def _qualified(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            platform, sep, user = item.partition(":")
            if not sep or not platform or not user:
                raise ValueError(f"{item!r} must be PLATFORM:USER_ID, e.g. console:admin1")
        return value

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url.get_secret_value() or f"sqlite:///{self.data_dir / 'dihya.sqlite3'}"

    @property
    def redis(self) -> str:
        """``DIHYA_REDIS_URL`` to connect with (``redis_url`` itself masks its password)."""
        return self.redis_url.get_secret_value()

    @property
    def broker(self) -> str:
        """The Celery broker: ``DIHYA_BROKER_URL``, else Redis. Nudges and shared state stay on Redis."""
        return self.broker_url.get_secret_value() or self.redis

    def vault_keys(self) -> tuple[str, ...]:
        """``DIHYA_SECRET_KEY`` first (new tokens use it), then ``DIHYA_SECRET_KEYS_OLD`` (issue 6)."""
        old = self.secret_keys_old.get_secret_value().split(",") if self.secret_keys_old else []
        keys = [self.secret_key.get_secret_value()] if self.secret_key else []
        return tuple(k.strip() for k in keys + old if k.strip())

    def secret_values(self) -> tuple[str, ...]:
        """Every configured secret, for the redaction filter: secret settings, and the passwords in
        connection URLs (the URLs themselves may be shown masked)."""
        values = [getattr(self, name) for name in type(self).model_fields]
        secrets = [v.get_secret_value() for v in values
                   if isinstance(v, SecretStr) and not isinstance(v, SecretUrl) and v.get_secret_value()]
        return tuple(secrets + [p for v in values if isinstance(v, SecretUrl) for p in v.passwords])


class SettingsError(Exception):
    """A setting is invalid; the message names it by its environment variable."""


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as err:
        problems = [f"DIHYA_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in err.errors()]
        raise SettingsError("invalid settings: " + "; ".join(problems)) from None
