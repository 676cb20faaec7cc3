"""Settings for the RQ worker subprocess of test_workers.py: the real settings with ZHIJIAN_TASKS=rq,
on a queue unique to the test run (ZHIJIAN_TEST_RQ_QUEUE) so parallel runs never share jobs."""
import os

os.environ["ZHIJIAN_TASKS"] = "rq"

from zhijian.settings import *  # noqa: E402,F403
from zhijian.settings import REDIS_URL  # noqa: E402

_QUEUE = os.environ["ZHIJIAN_TEST_RQ_QUEUE"]
# "default" stays declared (tasks are validated against it at import); the worker listens on _QUEUE only.
RQ_QUEUES = {name: {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 600} for name in ("default", _QUEUE)}
TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default", _QUEUE]}}
