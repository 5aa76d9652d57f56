"""Liveness: deploy/ restarts a worker pool or beat that stops answering `celery inspect ping`
(Kubernetes livenessProbe, compose healthcheck, the systemd liveness timer). These run that very
probe against real processes: it must pass for a healthy node, come back after the broker
restarts (a probe that stays red there would restart a whole healthy fleet), and fail for a node
that is hung."""

import signal

import pytest

from tests.conftest import require_services
from tests.e2e.conftest import _database_url
from tests.ops.cluster import Cluster, free_port, service_env
from tests.waiting import wait_until

pytestmark = pytest.mark.e2e


def test_beat_and_a_worker_answer_the_probe_again_after_redis_restarts_and_sweeps_resume(
    transactional_db, tmp_path
):
    require_services()
    env = service_env(_database_url(), f"http://127.0.0.1:{free_port()}", "http://127.0.0.1:9")
    with Cluster(tmp_path, env) as cluster:
        cluster.redis()
        cluster.worker("core", queues="ingest,escalation,celery", concurrency=1, pool="threads")
        cluster.beat()
        wait_until(lambda: cluster.answers_ping("beat", timeout=3), timeout=60, what="beat")
        assert cluster.answers_ping("core", timeout=3)

        cluster.stop("redis")
        assert not cluster.answers_ping("beat", timeout=2)  # the probe cannot reach anyone
        cluster.redis()
        worker_log = cluster.log("core")
        restarted_at = worker_log.stat().st_size

        wait_until(lambda: cluster.answers_ping("beat", timeout=3), timeout=90, what="beat")
        wait_until(lambda: cluster.answers_ping("core", timeout=3), timeout=90, what="core")
        # Beat is not only answering: its sweeps reach the worker again.
        wait_until(
            lambda: "paging.sweep" in worker_log.read_text()[restarted_at:],
            timeout=60,
            what="a sweep after the restart",
        )


def test_the_probe_fails_for_a_hung_beat(transactional_db, tmp_path):
    require_services()
    env = service_env(_database_url(), f"http://127.0.0.1:{free_port()}", "http://127.0.0.1:9")
    with Cluster(tmp_path, env) as cluster:
        cluster.redis()
        beat = cluster.beat()
        wait_until(lambda: cluster.answers_ping("beat", timeout=3), timeout=60, what="beat")

        beat.send_signal(signal.SIGSTOP)
        try:
            assert not cluster.answers_ping("beat", timeout=3)
        finally:
            beat.send_signal(signal.SIGCONT)
        wait_until(lambda: cluster.answers_ping("beat", timeout=3), timeout=30, what="beat")
