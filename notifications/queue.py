"""Waking workers up. The database is the truth; a task only says "there may be work".

Tasks take ids, and enqueueing waits for the transaction that made the work to commit.
"""

from django.conf import settings
from django.db import transaction
from django_q.tasks import async_task


def enqueue(task: str, *args: object) -> None:
    """Run `notifications.tasks.<task>(*args)` on a worker once the transaction commits."""
    transaction.on_commit(lambda: async_task(f"notifications.tasks.{task}", *args))


def enqueue_senders(campaign_id: int, *, parallel: int | None = None) -> None:
    """Start as many send loops for a campaign as the settings and the provider allow."""
    count = settings.VESTNIK_SEND_CONCURRENCY
    if parallel is not None:
        count = min(count, parallel)
    for _ in range(max(1, count)):
        enqueue("send_campaign", campaign_id)
