"""``zhijian worker``: start the worker of the configured task backend (ZHIJIAN_TASKS)."""
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django_tasks import task_backends


class Command(BaseCommand):
    help = "Run background workers for the configured task backend: db_worker (django-tasks-db) or rqworker (django-tasks-rq)."

    def add_arguments(self, parser):
        parser.add_argument("--backend", default="default", help="task backend alias (default: default)")
        parser.add_argument("--queue", action="append", dest="queues", help="queue to work on (repeatable; default: the backend's QUEUES)")
        parser.add_argument("--burst", action="store_true", help="process what is queued, then exit")
        parser.add_argument("--max-tasks", type=int, default=None, help="exit after this many tasks")

    def handle(self, *args, backend="default", queues=None, burst=False, max_tasks=None, **options):
        b = task_backends[backend]
        path = f"{type(b).__module__}.{type(b).__name__}"
        queues = queues or sorted(b.queues) or ["default"]
        verbosity = options.get("verbosity", 1)
        if path.startswith("django_tasks_db."):
            kwargs = {"queue_name": ",".join(queues), "backend_name": backend, "batch": burst, "reload": False, "verbosity": verbosity}
            if burst:
                kwargs["startup_delay"] = False
            if max_tasks:
                kwargs["max_tasks"] = max_tasks
            return call_command("db_worker", **kwargs)
        if path.startswith("django_tasks_rq."):
            # django-tasks-rq needs its Job class on the worker side.
            return call_command("rqworker", *queues, job_class="django_tasks_rq.Job", burst=burst, max_jobs=max_tasks, verbosity=verbosity)
        if path.startswith("django_tasks.backends.immediate"):
            self.stdout.write("ZHIJIAN_TASKS=immediate: tasks run inline, no worker needed.")
            return None
        raise CommandError(f"no worker known for task backend {path}")
