"""Clients for the container engines the catalog names, built from settings (imported on first use:
the embedded default starts without the docker and kubernetes libraries)."""

from __future__ import annotations

from typing import Any

from dihya.settings import Settings


def docker_client(settings: Settings, timeout: int | None = None) -> Any:
    """``DIHYA_DOCKER_URL``, else the environment (``DOCKER_HOST``); ``timeout`` seconds per API call."""
    import docker

    extra = {} if timeout is None else {"timeout": timeout}
    url = settings.docker_url
    return docker.DockerClient(base_url=url, **extra) if url else docker.from_env(**extra)


def kubernetes_api(settings: Settings) -> Any:
    """``DIHYA_KUBERNETES_API_URL``, else the kubeconfig."""
    from kubernetes import client, config

    if settings.kubernetes_api_url:
        configuration = client.Configuration(host=settings.kubernetes_api_url)
    else:
        configuration = client.Configuration()
        config.load_kube_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    return client.ApiClient(configuration)
