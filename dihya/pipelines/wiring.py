"""Pipeline parts built from settings, for the composition root (issue 15)."""

from __future__ import annotations

from bot.jobs import JobRecord
from bot.pipelines import PipelineCatalog, PipelineSpec
from dihya.jobs.execution import JobRunner
from dihya.jobs.targets import SecretSource
from dihya.pipelines.grafana import Annotations, GrafanaAnnotations, NoAnnotations
from dihya.pipelines.port import PipelineProvider
from dihya.pipelines.runner import KIND, AnnotatedDeploys, ByKind, PipelineRunner
from dihya.settings import Settings
from dihya.store.pipelines_sql import PipelineRunsSql

__all__ = ["JobRecord", "build_annotations", "with_pipelines"]


def build_annotations(settings: Settings) -> Annotations:
    if not settings.grafana_url or settings.grafana_token is None:
        return NoAnnotations()
    return GrafanaAnnotations(settings.grafana_url, settings.grafana_token.get_secret_value())


def with_pipelines(runner: JobRunner, settings: Settings, catalog: PipelineCatalog, runs: PipelineRunsSql,
                   secrets: SecretSource | None) -> JobRunner:
    """The job runner, with ``pipeline`` jobs followed on their provider and deploys annotated in Grafana."""
    annotations = build_annotations(settings)
    timeout = settings.pipeline_http_timeout_seconds

    def providers(spec: PipelineSpec) -> PipelineProvider:
        # httpx and cryptography load with the first pipeline job, not at every start
        from dihya.pipelines.providers import ProviderFactory

        return ProviderFactory(secrets, timeout)(spec)

    follow = PipelineRunner(catalog, providers, runs, poll_s=settings.pipeline_poll_seconds, annotations=annotations)
    return ByKind(AnnotatedDeploys(runner, annotations), {KIND: follow})
