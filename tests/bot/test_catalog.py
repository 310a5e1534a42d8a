"""``bot.catalog``: which service deploys where and how; unknown names are translated errors."""

from __future__ import annotations

import pytest

from bot.catalog import DEMO, RUNNERS
from bot.errors import UserError


def test_the_demo_catalog_deploys_web_with_ansible() -> None:
    deployment = DEMO.deployment("web", "staging")
    assert deployment.runner in RUNNERS and deployment.params["playbook"] == "deploy_web.yml"
    assert DEMO.playbook("deploy-web") == "deploy_web.yml"


@pytest.mark.parametrize(("call", "known"), [
    (lambda: DEMO.deployment("api", "staging"), "backend-django, web"),
    (lambda: DEMO.deployment("web", "test"), "production, staging"),
    (lambda: DEMO.playbook("nope"), "deploy-web, sleep-demo"),
])
def test_unknown_names_list_the_known_ones(call: object, known: str) -> None:
    with pytest.raises(UserError) as caught:
        call()  # type: ignore[operator]
    assert caught.value.message.params["known"] == known
