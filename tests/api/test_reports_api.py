"""Issue 17 in the REST API: ``rapports/`` lists the generated operations reports and serves each as
Markdown or its PNG chart; ``webhooks/`` lists the subscriptions with their last status, no secret."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from dihya.app import App
from tests.api.helpers import BASE, client, token
from tests.reports.test_report_now import reporting_app
from tests.reports.week import END, START, script_week


def bearer(app: App, identity: str) -> dict[str, str]:
    """A token valid now although the app's clock stands at the end of the scripted week."""
    return {"Authorization": f"Bearer {token(app, identity, ttl_s=30 * 86_400)}"}


HOOKED = '''
[reports]
[[reports.channels]]
channel = "console:main"
locale = "fr"
[webhooks.subscriptions.ops]
url = "http://169.254.169.254/latest?token=hidden-path"
events = ["job"]
secret = "ops-hook"
'''


async def test_generated_reports_are_listed_and_served_as_markdown_or_png(tmp_path: Path, engine: Engine) -> None:
    async with reporting_app(tmp_path, engine) as (app, chat):
        script_week(app.store)
        app.store.grant_role("console:ops1", "ops")
        app.store.grant_role("console:dev1", "developer")
        await chat.say("admin1", "report now 7d")
        await chat.say("admin1", "report now 1d")
        async with client(app) as http:
            ops = bearer(app, "console:ops1")
            denied = await http.get(f"{BASE}/rapports/", headers=bearer(app, "console:dev1"))
            first_page = await http.get(f"{BASE}/rapports/?limit=1", headers=ops)
            second_page = await http.get(f"{BASE}/rapports/?limit=1&cursor=2", headers=ops)
            markdown = await http.get(f"{BASE}/rapports/1", headers=ops)
            png = await http.get(f"{BASE}/rapports/1", headers={**ops, "Accept": "image/png"})
            chart = await http.get(f"{BASE}/rapports/1/graphique.png", headers=ops)
            missing = await http.get(f"{BASE}/rapports/9?lang=fr", headers=ops)
        app.bot.flush_audit()  # reads are audited in the next batch (bench: not one commit per GET)
        audit = [(r.draft.action, r.draft.outcome) for r in app.store.audit_records()]
    assert denied.status_code == 403 and "reports.run" in denied.json()["detail"]
    assert first_page.json()["items"][0] | {"created_us": 0} == {
        "id": 2, "channel": "console:main", "locale": "fr", "trigger": "chat", "since_us": END - 86_400_000_000,
        "until_us": END, "created_us": 0, "url": f"{BASE}/rapports/2", "chart_url": f"{BASE}/rapports/2/graphique.png"}
    assert first_page.headers["Link"] == f'<{BASE}/rapports/?limit=1&cursor=2>; rel="next"'
    assert [r["id"] for r in second_page.json()["items"]] == [1] and second_page.json()["next_cursor"] is None
    assert second_page.json()["items"][0]["since_us"] == START
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert markdown.text == next(u.content for u in chat.uploads if u.filename == "ops-report-1.md").decode()
    assert "- Déploiements : 3 (2 réussis, 1 en échec)" in markdown.text
    png_bytes = next(u.content for u in chat.uploads if u.filename == "ops-report-1.png")
    assert png.headers["content-type"] == "image/png" and png.content == png_bytes == chart.content
    assert missing.status_code == 404 and "Il n’y a pas de rapport n°9." in missing.text
    assert ("api:GET /rapports/{report_id}", "200") in audit


async def test_webhook_subscriptions_show_their_status_and_no_secret(tmp_path: Path, engine: Engine) -> None:
    async with reporting_app(tmp_path, engine, config=HOOKED) as (app, _):
        app.store.grant_role("console:ops1", "ops")
        async with client(app) as http:
            denied = await http.get(f"{BASE}/webhooks/", headers=bearer(app, "console:ops1"))
            listed = await http.get(f"{BASE}/webhooks/", headers=bearer(app, "console:admin1"))
    assert denied.status_code == 403
    assert listed.json() == [{"name": "ops", "host": "169.254.169.254", "events": ["job"], "pending": 0,
                              "last_status": "", "refused": "cloud metadata"}]
    assert "hidden-path" not in listed.text and "ops-hook" not in listed.text
