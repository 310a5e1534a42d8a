"""Which provider a catalog entry uses, with its credentials read from the encrypted secrets.

``[pipelines.NAME]`` options by provider (secrets are names of ``secret set`` values):
github: ``url`` (default https://api.github.com), ``token_secret`` (fine-grained token) or
``app_id`` + ``installation_id`` + ``private_key_secret`` (GitHub App), ``correlation_input``;
gitlab: ``url`` (default https://gitlab.com), ``trigger_token_secret``, ``token_secret``;
jenkins: ``url``, ``user``, ``token_secret`` (API token), ``ref_parameter`` (the job's branch parameter).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from bot.pipelines import PipelineSpec
from dihya.jobs.targets import SecretSource
from dihya.pipelines.credentials import AppInstallationToken, BearerAuth, TokenSource, missing_secret
from dihya.pipelines.github import GitHubActions, api_headers
from dihya.pipelines.gitlab import GitLabCI
from dihya.pipelines.http import ApiClient
from dihya.pipelines.jenkins import Jenkins
from dihya.pipelines.port import PipelineProvider

DEFAULT_URLS = {"github": "https://api.github.com", "gitlab": "https://gitlab.com"}


class ProviderFactory:
    def __init__(self, secrets: SecretSource | None, timeout_s: float = 10.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._secrets = secrets
        self._timeout = timeout_s
        self._sleep = sleep

    def __call__(self, spec: PipelineSpec) -> PipelineProvider:
        url = spec.url or DEFAULT_URLS.get(spec.provider, "")
        if spec.provider == "github":
            api = ApiClient("GitHub", url, headers=api_headers(), auth=BearerAuth(self._github_token(spec, url)),
                            timeout_s=self._timeout, sleep=self._sleep)
            return GitHubActions(api, self._sleep)
        if spec.provider == "gitlab":
            token = self._secret(spec, "token_secret")
            api = ApiClient("GitLab", url, headers={"PRIVATE-TOKEN": token}, timeout_s=self._timeout, sleep=self._sleep)
            return GitLabCI(api, self._secret(spec, "trigger_token_secret"))
        auth = (spec.options.get("user", ""), self._secret(spec, "token_secret"))
        return Jenkins(ApiClient("Jenkins", url, auth=auth, timeout_s=self._timeout, sleep=self._sleep))

    def _github_token(self, spec: PipelineSpec, url: str) -> TokenSource:
        if spec.options.get("app_id"):
            key_name = spec.options.get("private_key_secret", "")
            return AppInstallationToken(url, spec.options["app_id"], spec.options.get("installation_id", ""),
                                        lambda: self._secret(spec, "private_key_secret", key_name),
                                        timeout_s=self._timeout)
        token = self._secret(spec, "token_secret")
        return lambda: token

    def _secret(self, spec: PipelineSpec, option: str, name: str | None = None) -> str:
        name = name if name is not None else spec.options.get(option, "")
        value = self._secrets.value(name) if self._secrets is not None and name else None
        if value is None:
            raise missing_secret(name or option, spec.name)
        return value
