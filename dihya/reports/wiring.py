"""Builds the operations reports from the settings file (issue 17)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from bot.i18n import Catalogs
from bot.ports import Clock
from dihya.reports.config import reports_config
from dihya.reports.service import OpsReports
from dihya.store.reports_sql import ReportArchiveSql, ReportFactsSql


def build_reports(config: dict[str, Any], engine: Engine, catalogs: Catalogs, clock: Clock) -> OpsReports:
    return OpsReports(reports_config(config), ReportFactsSql(engine), ReportArchiveSql(engine), catalogs, clock)
