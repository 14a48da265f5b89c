"""Waking workers up. The database is the truth; a task only says "there may be work".

Tasks are enqueued by function reference, take ids, and wait for the transaction that made the
work to commit.
"""

from collections.abc import Callable

from django.conf import settings
from django.db import transaction
from django_q.tasks import async_task


def enqueue(task: Callable[..., object], /, *args: object, **kwargs: object) -> None:
    """Run `task(*args, **kwargs)` on a worker once the transaction commits."""
    transaction.on_commit(lambda: async_task(task, *args, **kwargs))


def enqueue_senders(campaign_id: int, *, parallel: int | None = None) -> None:
    """Start as many send loops for a campaign as the settings and the provider allow."""
    # The send task pauses campaigns through the lifecycle services, which wake senders through
    # here: importing it when first needed, not when this module loads, breaks that cycle.
    from .tasks import send_campaign

    count = settings.VESTNIK_SEND_CONCURRENCY
    if parallel is not None:
        count = min(count, parallel)
    for _ in range(max(1, count)):
        enqueue(send_campaign, campaign_id)
