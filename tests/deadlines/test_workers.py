"""Background work end to end: real worker processes (db_worker, RQ on local Redis) run our tasks."""
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings
from django_tasks import TaskResultStatus, task_backends

from zhijian.deadlines.models import Holiday, SweepLease
from zhijian.deadlines.tasks import load_holidays_task, run_sweep_task

ROOT = Path(__file__).resolve().parents[2]
SWEEP = "deadlines.calendar_coverage"


def _test_database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _run_worker(extra_env: dict, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ZHIJIAN_DATABASE_URL": _test_database_url(), "ZHIJIAN_VAR_DIR": str(settings.VAR_DIR), **extra_env}
    proc = subprocess.run(
        [sys.executable, "manage.py", "worker", "--burst", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def _clear_effects():
    Holiday.objects.all().delete()
    SweepLease.objects.all().delete()


def _assert_effects():
    assert Holiday.objects.count() > 600  # every day of data/holidays/*.json
    assert Holiday.objects.filter(date="2026-02-14", is_off_day=False).exists()
    lease = SweepLease.objects.get(name=SWEEP)
    assert (lease.run_count, lease.last_status, lease.holder) == (1, "ok", "")


@pytest.mark.django_db(transaction=True)
def test_db_worker_process_runs_tasks():
    """Tasks enqueued on the database backend are run by a real ``worker`` (→ db_worker) process."""
    _clear_effects()
    with override_settings(TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}):
        r1 = load_holidays_task.enqueue()
        r2 = run_sweep_task.enqueue(SWEEP, True)
    assert Holiday.objects.count() == 0  # nothing ran in this process
    _run_worker({"ZHIJIAN_TASKS": "db"})
    _assert_effects()
    r1.refresh()
    r2.refresh()
    assert (r1.status, r2.status) == (TaskResultStatus.SUCCESSFUL, TaskResultStatus.SUCCESSFUL)
    assert r2.return_value["ran"] is True
    assert r1.return_value["created"] > 600


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_rq_worker_process_runs_tasks():
    """Tasks enqueued through django-tasks-rq are run by a real RQ worker process (burst) on local Redis."""
    import django_rq

    queue_name = f"zj-test-{uuid.uuid4().hex[:12]}"
    rq_settings = {
        "TASKS": {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default", queue_name]}},
        "RQ_QUEUES": {name: {"URL": settings.REDIS_URL, "DEFAULT_TIMEOUT": 600} for name in ("default", queue_name)},
    }
    _clear_effects()
    with override_settings(**rq_settings):
        backend = task_backends["default"]
        assert type(backend).__name__ == "RQBackend"
        queue = django_rq.get_queue(queue_name)
        try:
            r1 = load_holidays_task.using(queue_name=queue_name).enqueue()
            r2 = run_sweep_task.using(queue_name=queue_name).enqueue(SWEEP, True)
            assert queue.count == 2
            assert Holiday.objects.count() == 0
            _run_worker(
                {"DJANGO_SETTINGS_MODULE": "tests.deadlines.rq_settings", "ZHIJIAN_TEST_RQ_QUEUE": queue_name}, "--queue", queue_name
            )
            assert queue.count == 0
            _assert_effects()
            r1, r2 = backend.get_result(r1.id), backend.get_result(r2.id)
            assert (r1.status, r2.status) == (TaskResultStatus.SUCCESSFUL, TaskResultStatus.SUCCESSFUL)
            assert r2.return_value["ran"] is True
        finally:
            redis = queue.connection
            for job_id in queue.finished_job_registry.get_job_ids() + queue.failed_job_registry.get_job_ids():
                redis.delete(f"rq:job:{job_id}", f"rq:results:{job_id}")
            queue.delete(delete_jobs=True)
            for key in redis.scan_iter(f"*{queue_name}*"):
                redis.delete(key)


def test_worker_command_with_immediate_backend(capsys):
    from django.core.management import call_command

    with override_settings(TASKS={"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}):
        call_command("worker")
    assert "no worker needed" in capsys.readouterr().out
