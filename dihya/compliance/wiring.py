"""Building the compliance parts from settings (called by ``dihya.app``, the CLI and the worker)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bot.i18n import Catalogs
from bot.ports import Clock, Store
from dihya.compliance.background import ComplianceTask, Publish
from dihya.compliance.exports import signing_key_pem
from dihya.compliance.secrets import SecretBox, build_vault
from dihya.compliance.service import ComplianceService, clear_spool
from dihya.redaction import Redactor
from dihya.settings import Settings
from dihya.store.sealing import Sealer


def sealer(settings: Settings) -> Sealer:
    """Seals inventory addresses and job results with the secrets' keys (none: kept clear)."""
    return Sealer(build_vault(settings.vault_keys()))


def secret_box(settings: Settings, store: Store, redactor: Redactor) -> SecretBox:
    keys = settings.vault_keys()
    redactor.add(*keys)
    return SecretBox(store, build_vault(keys), redactor)


def build_compliance(settings: Settings, store: Store, redactor: Redactor, clock: Clock) -> ComplianceService:
    box = secret_box(settings, store, redactor)
    box.load()
    key = settings.audit_signing_key.get_secret_value() if settings.audit_signing_key else None
    spool = spool_dir(settings)
    clear_spool(spool, older_than_s=3600, now=clock())  # exports a stopped process never uploaded
    return ComplianceService(store, redactor, clock, box, settings.audit_anchor_file, signing_key_pem(key),
                             spool=spool, scans=settings.scan_concurrency)


def spool_dir(settings: Settings) -> Path:
    """Where exports for chat wait for their upload (they are deleted once uploaded)."""
    return settings.data_dir / "spool"


def compliance_task(settings: Settings, store: Store, catalogs: Catalogs, publish: Publish,
                    clock: Clock, may_act: Callable[[], bool] = lambda: True) -> ComplianceTask:
    return ComplianceTask(store, catalogs, publish, clock, file=settings.audit_anchor_file,
                          channel=settings.audit_channel, anchor_every=settings.audit_anchor_seconds,
                          retention_days=settings.retention_days, retention_every=settings.retention_check_seconds,
                          may_act=may_act)
