"""Background tasks of the core app: thin wrappers over services."""
from django_tasks import task

from . import events
from .dispatch import Dispatcher
from . import trace


@task()
def dispatch_events(batch: int = 200) -> int:
    """Drain due events and deliveries once; a periodic sweep enqueues this."""
    events.load_handlers()
    worker = Dispatcher(batch=batch)
    try:
        return worker.drain()
    finally:
        worker.close()


@task()
def verify_trace() -> dict:

    return trace.verify().as_dict()


@task()
def run_export(job_id: int) -> None:
    """Write one queued export job (``zhijian.core.exports``)."""
    from . import exports  # function-level: exports imports this module to enqueue

    exports.run(job_id)
