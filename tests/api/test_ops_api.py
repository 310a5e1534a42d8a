"""Issue 13: incidents/ (lifecycle and Markdown report), alertes/ (list; silences against a real
Alertmanager) and audits/export (pseudonymised, digest and signature, streamed, audited) over HTTP."""

import base64
import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.ports import Server
from dihya.app import App, build_app
from dihya.settings import Settings
from dihya.signing import generate_keypair, verify
from tests.api.helpers import BASE, api_settings, bearer, client
from tests.helpers.alerts import alert, alert_app, deliver, payload
from tests.helpers.apps import running, trail
from tests.helpers.transcript import Transcript
from tests.servers.monitoring import MonitoringStack, alert_receiver, monitoring_stack, stack

__all__ = ["alert_receiver", "monitoring_stack", "stack"]  # the real stack's fixtures
KEYS = generate_keypair()
FR_BAD_REQUEST = "Requête incorrecte"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return api_settings(tmp_path, audit_signing_key=KEYS.private_pem.decode())


@pytest.fixture
async def app(settings: Settings, engine: Engine) -> AsyncIterator[App]:
    roles = {"console:dev1": "developer", "console:ops1": "ops", "console:aud1": "auditor"}
    async with running(build_app(settings, engine=engine), roles) as built:
        yield built


# -- incidents -------------------------------------------------------------------------------------
async def test_an_incident_lives_its_lifecycle_over_http(app: App, chat: Transcript) -> None:
    async with client(app) as http:
        ops = bearer(app, "console:ops1")
        opened = await http.post(f"{BASE}/incidents/", headers=ops,
                                 json={"titre": "checkout errors", "severite": "sev2"})
        assert opened.status_code == 201, opened.text
        url = opened.headers["Location"]
        assert url == f"{BASE}/incidents/1" and opened.json()["state"] == "open"
        acked = await http.post(f"{url}/ack", headers=ops)
        noted = await http.post(f"{url}/updates", headers=ops, json={"texte": "rolled back the release"})
        resolved = await http.post(f"{url}/resolve", headers=ops)
        again = await http.post(f"{url}/resolve?lang=fr", headers=ops)
        shown = await http.get(url, headers=bearer(app, "console:aud1"))
        denied = await http.post(f"{url}/ack", headers=bearer(app, "console:aud1"))
        report = await http.get(f"{url}/rapport?lang=fr", headers=bearer(app, "console:aud1"))
        missing = await http.get(f"{BASE}/incidents/9", headers=ops)
    assert acked.json()["state"] == "acknowledged" and acked.json()["owner"] == "console:ops1"
    assert noted.json()["events"][-1]["text"] == "rolled back the release"
    assert resolved.json()["state"] == "resolved" and resolved.json()["resolved_us"] is not None
    assert again.status_code == 422 and again.json()["detail"] == "L’incident #1 est déjà résolu."
    assert [e["kind"] for e in shown.json()["events"]] == ["opened", "acknowledged", "assigned", "update", "resolved"]
    assert denied.status_code == 403
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/markdown")
    assert "checkout errors" in report.text and "rolled back the release" in report.text
    assert "incident-1-fr.md" in report.headers["content-disposition"]
    assert missing.status_code == 404
    announced = next(p for p in chat.posted if p.key == "incident:1")  # responders see it in the API's channel
    assert announced.channel == "main" and "checkout errors" in announced.text
    said = [p.text for p in chat.posted if p.channel == "main"]
    assert any("acknowledged by console:ops1" in t for t in said) and any("resolved" in t for t in said)
    assert ("command:incident.resolve", "ok") in trail(app) and ("command:incident.report", "ok") in trail(app)


async def test_incidents_are_filtered_and_paged(app: App) -> None:
    async with client(app) as http:
        ops = bearer(app, "console:ops1")
        for title, severity in (("a", "sev1"), ("b", "sev3"), ("c", "sev1"), ("d", "sev1")):
            await http.post(f"{BASE}/incidents/", headers=ops, json={"titre": title, "severite": severity})
        await http.post(f"{BASE}/incidents/4/resolve", headers=ops)
        first = await http.get(f"{BASE}/incidents/?severity=sev1&limit=1&state=open", headers=ops)
        following = await http.get(first.headers["Link"].split(">")[0][1:], headers=ops)
        resolved = await http.get(f"{BASE}/incidents/?state=resolved", headers=ops)
    assert [i["title"] for i in first.json()["items"]] == ["c"]
    assert [i["title"] for i in following.json()["items"]] == ["a"] and "Link" not in following.headers
    assert [i["id"] for i in resolved.json()["items"]] == [4]


# -- alertes ---------------------------------------------------------------------------------------
async def test_firing_and_resolved_alerts_are_listed(engine: Engine, tmp_path: Path) -> None:
    app = alert_app(engine, tmp_path)
    await app.start()
    try:
        app.store.grant_role("console:aud1", "auditor")
        await deliver(app, payload("g1", [alert("f1"), alert("f2", instance="web-02", severity="critical")]))
        await deliver(app, payload("g2", [alert("f3", status="resolved", instance="db-01")]))
        async with client(app) as http:
            headers = bearer(app, "console:aud1")
            firing = await http.get(f"{BASE}/alertes/?limit=1", headers=headers)
            more = await http.get(firing.headers["Link"].split(">")[0][1:], headers=headers)
            critical = await http.get(f"{BASE}/alertes/?severity=critical", headers=headers)
            resolved = await http.get(f"{BASE}/alertes/?status=resolved", headers=headers)
            guest = await http.get(f"{BASE}/alertes/", headers=bearer(app, "console:nobody"))
    finally:
        await app.stop()
    assert len(firing.json()["items"]) == 1 and len(more.json()["items"]) == 1
    assert {firing.json()["items"][0]["labels"]["instance"], more.json()["items"][0]["labels"]["instance"]} == {
        "web-01", "web-02"}
    assert [a["labels"]["instance"] for a in critical.json()["items"]] == ["web-02"]
    assert [(a["labels"]["instance"], a["status"]) for a in resolved.json()["items"]] == [("db-01", "resolved")]
    assert guest.status_code == 403


@pytest.mark.slow
async def test_silences_are_made_listed_and_ended_in_alertmanager(engine: Engine, tmp_path: Path,
                                                                   stack: MonitoringStack) -> None:
    app = alert_app(engine, tmp_path, alertmanager_url=stack.alertmanager_url)
    await app.start()
    try:
        for key, role in (("console:ops1", "ops"), ("console:dev1", "developer")):
            app.store.grant_role(key, role)
        async with client(app) as http:
            ops = bearer(app, "console:ops1")
            made = await http.post(f"{BASE}/alertes/silences", headers=ops, json={
                "matchers": "alertname=ApiTest,instance=web-09", "duree": "1h", "commentaire": "maintenance"})
            refused = await http.post(f"{BASE}/alertes/silences", headers=bearer(app, "console:dev1"),
                                      json={"matchers": "alertname=ApiTest", "duree": "1h"})
            bad = await http.post(f"{BASE}/alertes/silences?lang=fr", headers=ops,
                                  json={"matchers": "alertname=ApiTest", "duree": "forever"})
            listed = await http.get(f"{BASE}/alertes/silences", headers=bearer(app, "console:dev1"))
            ended = await http.delete(made.headers["Location"], headers=ops)
            after = await http.get(f"{BASE}/alertes/silences", headers=ops)
    finally:
        await app.stop()
    assert made.status_code == 201, made.text
    silence_id = made.json()["id"]
    assert silence_id and silence_id in made.json()["message"]
    assert refused.status_code == 403 and bad.status_code == 422
    mine = [s for s in listed.json()["items"] if s["id"] == silence_id]
    assert len(mine) == 1 and mine[0]["created_by"] == "console:ops1" and mine[0]["comment"] == "maintenance"
    assert ended.status_code == 204
    assert silence_id not in [s["id"] for s in after.json()["items"]]
    assert ("command:silence", "ok") in trail(app) and ("command:unsilence", "ok") in trail(app)


# -- audits/export ---------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["csv", "json"])
async def test_the_audit_export_is_pseudonymised_digested_signed_and_audited(app: App, chat: Transcript,
                                                                              fmt: str) -> None:
    await chat.say("admin1", "servers add web-02 10.9.8.7 staging")
    await chat.say("dev1", "please call bob@example.org")
    async with client(app) as http:
        answer = await http.get(f"{BASE}/audits/export?format={fmt}&since=1h", headers=bearer(app, "console:aud1"))
        denied = await http.get(f"{BASE}/audits/export", headers=bearer(app, "console:dev1"))
    assert answer.status_code == 200, answer.text
    content = answer.content
    text = content.decode()
    assert "servers.add" in text and "10.9.8.7" not in text and "console:admin1" not in text
    digest = hashlib.sha256(content).hexdigest()
    assert answer.headers["X-Dihya-Sha256"] == digest
    assert answer.headers["Repr-Digest"] == f"sha-256=:{base64.b64encode(bytes.fromhex(digest)).decode()}:"
    assert verify(content, base64.b64decode(answer.headers["X-Dihya-Signature"]), KEYS.public_pem)
    assert f".{fmt}" in answer.headers["content-disposition"]
    if fmt == "json":
        assert {r["action"] for r in json.loads(content)} >= {"command:servers.add"}
    assert denied.status_code == 403
    app.bot.flush_audit()
    exports = [r for r in app.store.audit_records() if r.draft.action == "command:audit.export"]
    assert [r.draft.outcome for r in exports] == ["ok", "denied"]
    assert exports[0].draft.details["sha256"] == digest  # the read of the export is audited, with its digest
    assert not list((app.settings.data_dir).rglob(f"dihya-audit-*.{fmt}"))  # the spooled file is gone


async def test_an_export_under_an_approval_policy_answers_202(settings: Settings, engine: Engine,
                                                            tmp_path: Path) -> None:
    config = tmp_path / "approvals.toml"
    config.write_text('[approvals."audit.export"]\nquorum = 1\napprovers = ["admin"]\n', encoding="utf-8")
    app = build_app(settings.model_copy(update={"config_file": config}), engine=engine)
    await app.start()
    try:
        app.store.grant_role("console:aud1", "auditor")
        async with client(app) as http:
            answer = await http.get(f"{BASE}/audits/export", headers=bearer(app, "console:aud1"))
    finally:
        await app.stop()
    assert answer.status_code == 202
    assert answer.headers["Location"] == f"{BASE}/approbations/1" and answer.json()["status"] == "approval"


async def test_a_port_this_deployment_lacks_is_a_translated_problem(app: App) -> None:
    app.store.add_server(Server("web-01", "10.0.0.5", "staging"))
    async with client(app) as http:
        admin = bearer(app, "console:admin1")
        silences = await http.get(f"{BASE}/alertes/silences?lang=fr", headers=admin)
        made = await http.post(f"{BASE}/alertes/silences", headers=admin, json={"matchers": "a=b", "duree": "1h"})
        status = await http.get(f"{BASE}/monitoring/?serveur_id=1", headers=admin)
    assert silences.status_code == made.status_code == status.status_code == 422  # as chat: the command refuses
    assert "DIHYA_ALERTMANAGER_URL" in silences.json()["detail"] and silences.headers["Content-Language"] == "fr"
    assert "DIHYA_PROMETHEUS_URL" in status.json()["detail"]


async def test_a_body_that_is_not_json_is_a_problem(app: App) -> None:
    async with client(app) as http:
        answer = await http.post(f"{BASE}/incidents/?lang=fr", content=b"\xff\xfe{", headers={
            **bearer(app, "console:ops1"), "Content-Type": "application/json"})
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["title"] == FR_BAD_REQUEST
    assert app.store.incidents() == []
