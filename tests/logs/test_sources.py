"""Log sources against the documented APIs (fake Docker Engine and Kubernetes API servers speaking
them), a real file and the real journalctl: bounded, timestamped, in order."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import docker
import pytest
from kubernetes import client

from bot.errors import UserError
from dihya.logs_sources.base import Window, matcher, split_timestamp
from dihya.logs_sources.docker_logs import DockerLogs
from dihya.logs_sources.file_logs import FileLogs
from dihya.logs_sources.journald_logs import JournaldLogs, parse_json_lines
from dihya.logs_sources.kube_logs import KubernetesLogs
from tests.fakes.docker_logs import Entry, FakeDockerWithLogs
from tests.fakes.kube_logs import FakeKubernetesWithLogs

NOW = datetime.now(UTC).replace(microsecond=250000)


def ago(minutes: float) -> datetime:
    return NOW - timedelta(minutes=minutes)


@pytest.fixture(params=[False, True], ids=["docker", "podman-timestamps"])
def engine(request: pytest.FixtureRequest) -> Iterator[FakeDockerWithLogs]:
    fake = FakeDockerWithLogs(whole_seconds=request.param)
    fake.start()
    yield fake
    fake.stop()


def docker_logs(fake: FakeDockerWithLogs, name: str) -> DockerLogs:
    return DockerLogs(docker.DockerClient(base_url=fake.url, version="1.45", timeout=5), name)


def test_docker_logs_ask_for_a_bounded_read_and_parse_both_timestamp_forms(engine: FakeDockerWithLogs) -> None:
    engine.add_logged_container("shop", [Entry(ago(120), "old line"), Entry(ago(10), "started"),
                                         Entry(ago(5), "GET / 200", 1), Entry(ago(1), "warning: slow", 2)])
    fetched = docker_logs(engine, "shop").fetch(Window(since_s=30 * 60, lines=50, now=NOW.timestamp()))
    assert [line.text for line in fetched.lines] == ["started", "GET / 200", "warning: slow"]
    assert all(line.at is not None and abs((line.at - ago(10)).total_seconds()) < 700 for line in fetched.lines)
    query = next(r.query for r in engine.requests if r.path.endswith("/logs"))
    assert query["follow"] == "0" and query["timestamps"] == "1" and query["tail"] == "50"
    assert int(query["since"]) == int(NOW.timestamp()) - 1800
    assert not fetched.truncated


def test_docker_logs_stop_at_the_byte_bound(engine: FakeDockerWithLogs) -> None:
    engine.add_logged_container("noisy", [Entry(ago(1), "x" * 1000) for _ in range(200)])
    fetched = docker_logs(engine, "noisy").fetch(Window(since_s=600, lines=5000, max_bytes=20_000,
                                                        now=NOW.timestamp()))
    assert fetched.truncated
    assert 10 <= len(fetched.lines) <= 20


def test_an_unknown_container_is_a_clear_refusal(engine: FakeDockerWithLogs) -> None:
    with pytest.raises(UserError):
        docker_logs(engine, "ghost").fetch(Window(600, 10, now=NOW.timestamp()))


@pytest.fixture
def kube() -> Iterator[FakeKubernetesWithLogs]:
    fake = FakeKubernetesWithLogs()
    fake.start()
    yield fake
    fake.stop()


def test_kubernetes_logs_read_every_pod_of_the_deployment_by_its_selector(kube: FakeKubernetesWithLogs) -> None:
    now = datetime.now(UTC)  # the fake filters by the real clock: stamp lines by it, not by import time

    def recent(minutes: float) -> datetime:
        return now - timedelta(minutes=minutes)

    kube.add_deployment("prod", "api", "api", "registry.example.org/api:1")
    kube.add_pod("prod", "api-7d9c-a", {"app": "api"}, {"api": [(recent(9), "a: ready"), (recent(2), "a: GET /")],
                                                        "log-shipper": [(recent(1), "shipper noise")]})
    kube.add_pod("prod", "api-7d9c-b", {"app": "api"}, {"api": [(recent(5), "b: ready"), (recent(60), "b: too old")]})
    kube.add_pod("prod", "other-1", {"app": "other"}, {"api": [(recent(3), "not this deployment")]})
    api = client.ApiClient(client.Configuration(host=kube.url))
    fetched = KubernetesLogs(api, "prod", "api", "api").fetch(Window(since_s=15 * 60, lines=100, now=time.time()))
    assert [(line.origin, line.text) for line in fetched.lines] == [
        ("api-7d9c-a", "a: ready"), ("api-7d9c-b", "b: ready"), ("api-7d9c-a", "a: GET /")]
    assert "[api-7d9c-b] b: ready" in fetched.lines[1].render()
    listed = next(r for r in kube.requests if r.path.endswith("/pods"))
    assert listed.query["labelSelector"] == "app=api"
    reads = [r.query for r in kube.requests if r.path.endswith("/log")]
    assert len(reads) == 2
    assert all(q["follow"] == "false" and q["timestamps"] == "true" and q["sinceSeconds"] == "900"
               and q["tailLines"] == "100" and q["container"] == "api" and int(q["limitBytes"]) > 0 for q in reads)


def test_kubernetes_unknown_deployment_is_refused(kube: FakeKubernetesWithLogs) -> None:
    api = client.ApiClient(client.Configuration(host=kube.url))
    with pytest.raises(UserError):
        KubernetesLogs(api, "prod", "ghost", None).fetch(Window(600, 10, now=time.time()))


@pytest.mark.parametrize(("line", "expected"), [
    ("2024-05-01T10:00:00.123456789Z hello", datetime(2024, 5, 1, 10, 0, 0, 123456, UTC)),
    ("2024-05-01T10:00:00Z hello", datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)),
    ("2024-05-01T12:00:00+02:00 hello", datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)),
])
def test_timestamps_with_nanoseconds_or_whole_seconds(line: str, expected: datetime) -> None:
    assert split_timestamp(line) == (expected, "hello")


def test_a_line_without_a_timestamp_is_kept_whole() -> None:
    assert split_timestamp("plain text line") == (None, "plain text line")


def test_file_logs_read_only_the_tail_of_a_big_file(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    with log.open("w") as out:
        for n in range(200_000):
            out.write(f"{(NOW - timedelta(seconds=200_000 - n)).strftime('%Y-%m-%dT%H:%M:%SZ')} line {n}\n")
    started = time.monotonic()
    fetched = FileLogs(log).fetch(Window(since_s=3600, lines=30, max_bytes=64 * 1024, now=NOW.timestamp()))
    assert time.monotonic() - started < 0.5
    assert [line.text for line in fetched.lines][-1] == "line 199999"
    assert len(fetched.lines) == 30


def test_file_logs_leave_out_lines_older_than_the_window(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text(f"{ago(90).strftime('%Y-%m-%dT%H:%M:%SZ')} old\n{ago(5).strftime('%Y-%m-%dT%H:%M:%SZ')} new\n"
                   "no timestamp\n")
    fetched = FileLogs(log).fetch(Window(since_s=1800, lines=10, now=NOW.timestamp()))
    assert [line.text for line in fetched.lines] == ["new", "no timestamp"]


def test_journald_output_is_parsed_from_recorded_json() -> None:
    recorded = (Path(__file__).parent / "journal.jsonl").read_text()
    lines = parse_json_lines(recorded)
    assert [line.text for line in lines] == ["Started nginx.", "binary ok", "GET / 200"]
    assert lines[0].at == datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC) and lines[0].origin == "web-01"


def test_journald_runs_journalctl_as_bounded_argv() -> None:
    source = JournaldLogs("nginx.service")
    argv = source.argv(Window(since_s=900, lines=200, now=1_714_557_600))
    assert argv[1:] == ["-u", "nginx.service", "-o", "json", "--no-pager", "-n", "200", "--since=@1714556700"]
    fetched = source.fetch(Window(since_s=900, lines=200, now=time.time()))  # the real journalctl: no journal here
    assert fetched.lines == [] or all(line.text for line in fetched.lines)


def test_a_host_without_journald_gets_a_clear_refusal(tmp_path: Path) -> None:
    with pytest.raises(UserError) as refused:
        JournaldLogs("nginx.service", journalctl=str(tmp_path / "journalctl")).fetch(Window(900, 10, now=time.time()))
    assert "journald is not available" in refused.value.message.msgid


def test_a_pathological_pattern_on_a_long_line_answers_at_once() -> None:
    match = matcher("(a+)+$", regex=True)
    started = time.monotonic()
    assert not match("a" * 100_000 + "b")
    assert match("x" * 50_000 + "aaa")
    assert time.monotonic() - started < 0.1


def test_patterns_re2_cannot_run_in_linear_time_are_refused() -> None:
    with pytest.raises(UserError):
        matcher(r"(a)\1", regex=True)


def test_plain_text_search_ignores_case() -> None:
    assert matcher("ERROR", regex=False)("disk error on sda")
