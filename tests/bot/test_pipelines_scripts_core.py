"""The core's pipeline and script declarations and checks, tested directly (``bot/pipelines.py``,
``bot/scripts.py``): no provider, sandbox, store or runtime."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.argtypes import Integer
from bot.errors import UserError
from bot.pipelines import (
    CiPolicy,
    ParamSpec,
    PipelineCatalog,
    PipelineRun,
    PipelineSpec,
    Stage,
    blocking_run,
    changed,
    merge_run,
    result_lines,
)
from bot.scripts import DEMO_SCRIPTS, LOCAL, Script, ScriptParam, check_target, checked_params

SPEC = PipelineSpec("build", "github", "acme/shop", refs=("main", "release/*"), environment="production",
                    params={"version": ParamSpec("version", "version"),
                            "mode": ParamSpec("mode", "choice", ("fast", "full"))})
RUN = PipelineRun("github", "acme/shop", "41", "running", ref="main", sha="0123456789abcdef", version="1.4.0",
                  id=3, created_us=10)


def msgid(err: pytest.ExceptionInfo[UserError]) -> str:
    return err.value.message.msgid


# -- pipelines -----------------------------------------------------------------------------------
def test_refs_are_checked_against_the_declared_patterns() -> None:
    assert SPEC.default_ref == "main"
    assert SPEC.check_ref("release/1.4") == "release/1.4"
    for bad in ("dev", "release/../main", "-rf"):
        with pytest.raises(UserError) as err:
            SPEC.check_ref(bad)
        assert msgid(err).startswith("{pipeline} may not run on")


def test_params_are_typed_and_unknown_or_malformed_ones_refused() -> None:
    assert SPEC.check_params("version=v1.4.0-rc.1 mode=fast") == {"version": "v1.4.0-rc.1", "mode": "fast"}
    for text, expected in (("version", "Parameters are written KEY=VALUE"), ("color=red", "{pipeline} has no"),
                           ("mode=slow", "“{value}” is not a valid"), ("version=1;rm", "“{value}” is not a valid")):
        with pytest.raises(UserError) as err:
            SPEC.check_params(text)
        assert msgid(err).startswith(expected), text


def test_the_catalog_finds_pipelines_by_name_and_by_project() -> None:
    catalog = PipelineCatalog({"build": SPEC})
    assert catalog.get("build") is SPEC and catalog.production == frozenset({"build"})
    assert catalog.for_project("github", "ACME/Shop") is SPEC and catalog.for_project("gitlab", "acme/shop") is None
    with pytest.raises(UserError):
        catalog.get("deploy")


def test_a_deploy_is_blocked_by_the_newest_unsuccessful_run_of_its_version() -> None:
    older_green = replace(RUN, id=1, created_us=5, state="success")
    newer_red = replace(RUN, id=2, created_us=20, state="failed")
    assert blocking_run([older_green, newer_red], "1.4.0") == newer_red
    assert blocking_run([older_green], "1.4.0") is None
    assert blocking_run([newer_red], "0123456") == newer_red  # a commit of 7+ characters
    assert blocking_run([newer_red], "012") is None and blocking_run([newer_red], "") is None


def test_late_news_never_reopens_a_finished_run_and_keeps_what_it_lacks() -> None:
    finished = replace(RUN, state="success", status="completed", job_id=9, url="https://ci/41")
    late = PipelineRun("github", "acme/shop", "41", "running", stages=(Stage("test", "running"),))
    merged = merge_run(finished, late)
    assert merged.state == "success" and merged.status == "completed" and merged.job_id == 9
    assert merged.id == 3 and merged.created_us == 10 and merged.url == "https://ci/41" and merged.sha == RUN.sha
    assert not changed(finished, merged) and changed(RUN, finished)


def test_a_result_names_the_failed_stages_and_the_commit() -> None:
    failed = replace(RUN, state="failed", url="https://ci/41",
                     stages=(Stage("build", "success"), Stage("test", "failed", "FAILURE")))
    ids = [m.msgid for m in result_lines(failed, "build")]
    assert ids == ["{icon} {pipeline} failed on {branch} ({repository})", "Commit: {sha}", "{icon} {name}: {status}",
                   "Run: {url}"]
    assert result_lines(failed, "build")[1].params["sha"] == "0123456789ab"


def test_ci_results_go_to_the_default_channel_unless_a_route_matches() -> None:
    assert CiPolicy(default_channel="slack:C1", locale="fr").destination({"repository": "x"}) == ("slack:C1", "fr")


# -- scripts -------------------------------------------------------------------------------------
PROBE = Script("probe", "python", "probe.py", "Probe a port", (ScriptParam("port", Integer(1, 65535)),
               ScriptParam("tries", Integer(1, 5), required=False, default="3")), targets=(LOCAL, "web01"))


def test_script_params_are_converted_and_defaults_filled() -> None:
    assert checked_params(PROBE, {"port": "8080"}) == {"port": 8080, "tries": 3}
    for given, expected in (({}, "{script} needs the parameter"), ({"port": "1", "host": "x"}, "{script} has no"),
                            ({"port": "70000"}, "“{value}” is not a valid {arg}")):
        with pytest.raises(UserError) as err:
            checked_params(PROBE, given)
        assert msgid(err).startswith(expected)
    assert PROBE.usage() == "port=… [tries=…]" and PROBE.path == "scripts/python/probe.py"


def test_a_script_runs_only_on_its_declared_targets() -> None:
    assert check_target(PROBE, None) == LOCAL and check_target(PROBE, "web01") == "web01"
    with pytest.raises(UserError):
        check_target(PROBE, "db01")


def test_the_catalog_lists_only_the_scripts_a_person_may_run() -> None:
    assert DEMO_SCRIPTS.script("disk-report").language == "python"
    with pytest.raises(UserError) as err:
        DEMO_SCRIPTS.script("flush-cache", allowed=frozenset({"disk-report"}))
    assert err.value.message.params["known"] == "disk-report"
    assert DEMO_SCRIPTS.permissions()["flush-cache"] == "ops.run"
