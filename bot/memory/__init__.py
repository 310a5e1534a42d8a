"""The core's store ports in memory, for tests of the core: one class per domain port, and
``MemoryStore``, every domain over one set of tables (as ``SqlStore`` is over one database).

No I/O and no durability: faithful to the SQL store's semantics (guarded transitions, claim once,
vote replacement, dedupe of alert deliveries, erasure across domains), which
``tests/dihya/test_store_contract.py`` checks by running the same tests against both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from bot.audit import AuditDraft
from bot.memory.alerts import MemoryAlerts
from bot.memory.api_tokens import MemoryApiTokens
from bot.memory.approvals import MemoryApprovals
from bot.memory.audit import MemoryAudit
from bot.memory.compliance import MemoryCompliance
from bot.memory.identities import MemoryIdentities, MemoryLinks
from bot.memory.incidents import MemoryIncidents
from bot.memory.jobs import MemoryJobs
from bot.memory.secret_tokens import MemorySecrets
from bot.memory.small import MemoryInventory, MemoryKv, MemoryMessageKeys
from bot.memory.tables import Tables

__all__ = ["MemoryAlerts", "MemoryApiTokens", "MemoryApprovals", "MemoryAudit", "MemoryCompliance", "MemoryIdentities",
           "MemoryIncidents", "MemoryInventory", "MemoryJobs", "MemoryKv", "MemoryLinks", "MemoryMessageKeys",
           "MemorySecrets", "MemoryStore", "Tables"]


class MemoryStore(MemoryLinks, MemoryCompliance, MemoryInventory, MemoryMessageKeys, MemoryApprovals, MemoryJobs,
                  MemoryKv, MemoryAudit, MemorySecrets, MemoryAlerts, MemoryIncidents, MemoryApiTokens):
    """Every port of ``bot.ports.Store`` in memory."""

    __slots__ = ()

    def finish_job_audited(self, job_id: int, state: str, result: Mapping[str, object], now_us: int,
                           audit: AuditDraft) -> bool:
        done = self.finish_job(job_id, state, result, now_us)
        if done:
            self.append_audit([audit])
        return done


if TYPE_CHECKING:  # mypy checks that each class implements its port, and MemoryStore all of them
    from bot import ports

    _PORTS: tuple[ports.IdentityStore, ports.LinkStore, ports.InventoryStore, ports.MessageKeys, ports.ApprovalStore,
                  ports.JobStore, ports.KvStore, ports.AuditStore, ports.SecretStore, ports.ComplianceStore,
                  ports.AlertStore, ports.IncidentStore, ports.ApiTokenStore, ports.Store] = (
        MemoryIdentities(), MemoryLinks(), MemoryInventory(), MemoryMessageKeys(), MemoryApprovals(), MemoryJobs(),
        MemoryKv(), MemoryAudit(), MemorySecrets(), MemoryCompliance(), MemoryAlerts(), MemoryIncidents(),
        MemoryApiTokens(), MemoryStore())
