"""The fixtures end to end on a real local stack (redis-server, the proxy, a celery worker running
the reference app), in a pytester project that also runs pytest-django, as a user's would."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import pytest

from .inner_project import HOLDS, INI

pytest_plugins = ["pytester"]

pytestmark = pytest.mark.chaos

FIXTURE_TESTS = '''
import pytest

from chaos.pytest.assertions import assert_no_lost

INVOICE = "shop.tasks.send_invoice_email"


@pytest.mark.django_db
def test_a_publish_through_latency_runs(chaos_producer, chaos_proxy, chaos_journal):
    from shop.models import Order

    order = Order.objects.create(customer_email="a@example.com", item="mug", quantity=1)
    with chaos_proxy.toxic("latency", latency=300):
        outcome = chaos_producer.send(INVOICE, [order.pk], key=f"order={order.pk}")
    assert outcome.accepted
    # The toxic delays the broker's reply by 300 ms; 50 ms slack for timer granularity.
    assert outcome.seconds >= 0.25
    chaos_journal.wait_for_task(outcome.task_id)
    assert_no_lost(chaos_journal)


def test_b_leaves_a_mess(chaos_proxy, chaos_broker, chaos_workers, chaos_producer):
    chaos_workers[0].kill()
    assert chaos_producer.send(INVOICE, [99], key="order=99").accepted  # left queued
    chaos_proxy.add_toxic("latency", latency=1000)
    chaos_broker.pause()


@pytest.mark.chaos(reset=False)
def test_b2_opts_out_of_the_reset(chaos_proxy, chaos_broker, chaos_workers):
    assert [toxic.type for toxic in chaos_proxy.toxics()] == ["latency"]
    assert chaos_broker.paused and not chaos_workers[0].is_alive()


def test_c_gets_the_stack_back_clean(
    chaos_stack, chaos_producer, chaos_proxy, chaos_broker, chaos_workers, chaos_journal
):
    assert chaos_proxy.toxics() == [] and chaos_proxy.refresh().enabled
    assert chaos_broker.is_running() and all(worker.is_alive() for worker in chaos_workers)
    assert not any(chaos_stack.queue_lengths().values())
    outcome = chaos_producer.send(INVOICE, [2], key="order=2")
    assert outcome.accepted
    chaos_journal.wait_for_task(outcome.task_id)
    # The journal view holds this test's events only: order 99 of the last test is not in it.
    assert list(chaos_journal.history().tasks) == [outcome.task_id]


def test_d_a_lost_task_fails_with_the_checkers_message(
    chaos_producer, chaos_broker, chaos_workers, chaos_journal
):
    chaos_workers[0].kill()
    outcome = chaos_producer.send(INVOICE, [3], key="order=3")
    assert outcome.accepted
    with chaos_journal.fault("broker.kill"):  # persistence is off: the queued message dies with it
        chaos_broker.kill()
        chaos_broker.start()
    chaos_workers[0].start()
    chaos_workers[0].wait_ready()
    assert_no_lost(chaos_journal)
'''


def test_fixtures_drive_a_real_stack_beside_pytest_django(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(test_fixtures=FIXTURE_TESTS)
    out_dir = pytester.path / "runs"
    result = pytester.runpytest_subprocess("-v", f"--chaos-out={out_dir}", timeout=240)
    result.assert_outcomes(passed=4, failed=1)
    result.stdout.fnmatch_lines([
        "*test_a_publish_through_latency_runs PASSED*",
        "*test_b_leaves_a_mess PASSED*",
        "*test_b2_opts_out_of_the_reset PASSED*",
        "*test_c_gets_the_stack_back_clean PASSED*",
        "*test_d_a_lost_task_fails_with_the_checkers_message FAILED*",
        (
            "E   *AssertionError: no_lost: send_invoice_email?order=3?: accepted by the broker "
            "at *never executed; broker kill* lost with the broker's memory*"
        ),
    ])
    # A test failed, so the session stack's run directory (journal, logs) is kept, and the
    # failed test's own timeline is drawn there and named in its report.
    (session_dir,) = out_dir.glob("session-*")
    assert (session_dir / "journal.jsonl").is_file()
    result.stdout.fnmatch_lines(["*- chaos timeline -*", "timeline of this test: *timeline.png*"])
    (picture,) = (session_dir / "tests").glob("*test_d_a_lost_task*/timeline.png")
    assert picture.read_bytes().startswith(b"\x89PNG")


def test_a_stack_that_cannot_start_is_an_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """For a fixture test and for a scenario item alike: an error, never a failure."""
    monkeypatch.setenv("CHAOS_REDIS_SERVER", str(pytester.path / "no-such-redis-server"))
    pytester.makeini(INI)
    pytester.makepyfile(test_uses_stack="def test_broker(chaos_broker):\n    pass\n")
    pytester.makefile(".yaml", **{"scenarios/holds": HOLDS})
    junit = pytester.path / "junit.xml"
    result = pytester.runpytest_subprocess(f"--chaos-out={pytester.path / 'runs'}",
                                           f"--junitxml={junit}", timeout=120)
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines([
        "*ERROR at setup of scenario holds.yaml*",
        "the stack could not start (an infrastructure error, not a verdict):",
        "*ERROR at setup of test_broker*",
        "the chaos stack could not start (local backend; an infrastructure error, not a verdict):",
    ])
    for case in ElementTree.parse(junit).iter("testcase"):
        assert case.find("error") is not None and case.find("failure") is None


XDIST_TEST = '''
import json, os


def test_{name}(chaos_stack):
    record = {{"worker": os.environ.get("PYTEST_XDIST_WORKER", "main"),
              "broker_url": chaos_stack.producer_broker_url, "run_dir": str(chaos_stack.run_dir)}}
    with open("{name}.json", "w") as handle:
        json.dump(record, handle)
'''


@pytest.mark.slow
def test_each_xdist_worker_gets_its_own_stack(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(test_one=XDIST_TEST.format(name="one"),
                        test_two=XDIST_TEST.format(name="two"))
    out_dir = pytester.path / "runs"
    result = pytester.runpytest_subprocess("-n", "2", f"--chaos-out={out_dir}", "--chaos-keep",
                                           timeout=240)
    result.assert_outcomes(passed=2)
    records = [json.loads((pytester.path / f"{name}.json").read_text()) for name in ("one", "two")]
    # Two tests on two workers are sent one each (xdist deals fewer than 2 per node round robin).
    assert {r["worker"] for r in records} == {"gw0", "gw1"}
    assert records[0]["broker_url"] != records[1]["broker_url"]
    for record in records:
        assert Path(record["run_dir"]).parent == out_dir / record["worker"]


DOCKER_TESTS = '''
from chaos.pytest.assertions import assert_no_lost


def test_a_task_through_the_docker_stack(chaos_stack, chaos_producer, chaos_proxy, chaos_journal):
    assert type(chaos_stack).__name__ == "DockerStack"
    with chaos_proxy.toxic("latency", latency=100):
        outcome = chaos_producer.send("shop.tasks.send_invoice_email", [1], key="order=1")
    assert outcome.accepted
    chaos_journal.wait_for_task(outcome.task_id, timeout=45)
    assert_no_lost(chaos_journal)
'''


@pytest.mark.slow
@pytest.mark.docker
def test_the_fixtures_run_on_the_docker_backend(pytester: pytest.Pytester) -> None:
    from chaos.stack.base import REFERENCE_APP_DIR
    from chaos.stack.docker import ImageBuilder

    # Present images cost a digest; CI builds them before pytest (chaos images).
    ImageBuilder(progress=None).build_all(REFERENCE_APP_DIR, "auto")
    pytester.makeini(INI)
    pytester.makepyfile(test_docker=DOCKER_TESTS)
    result = pytester.runpytest_subprocess("--chaos-backend=docker",
                                           f"--chaos-out={pytester.path / 'runs'}", timeout=300)
    result.assert_outcomes(passed=1)
