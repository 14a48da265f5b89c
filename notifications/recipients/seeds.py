"""The test lists: recipients a member of staff sends test messages to in one click, their own
and everyone's (shared)."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext

from notifications.errors import InvalidInput
from notifications.models import Recipient, SeedRecipient

# A test goes to this many people at most (`campaigns.direct.MAX_TEST_RECIPIENTS`): a list
# longer than that could not be sent to in one click.
MAX_SEED_RECIPIENTS = 50


def seed_recipients(user: Any) -> QuerySet[Recipient]:
    """The people a test from `user` goes to in one click: their own test list and the shared
    one, each person once, in id order."""
    own = Q(pk__in=SeedRecipient.objects.filter(owner__isnull=True).values("recipient_id"))
    if getattr(user, "pk", None):
        own |= Q(pk__in=SeedRecipient.objects.filter(owner=user).values("recipient_id"))
    return Recipient.objects.filter(own).order_by("pk")


def seed_recipients_add(*, recipients: QuerySet[Recipient], owner: Any = None) -> int:
    """Put `recipients` on `owner`'s test list (the shared one when None); those already on it
    stay. Returns how many were added. InvalidInput when the list would pass the cap."""
    owner = owner if getattr(owner, "pk", None) else None
    listed = SeedRecipient.objects.filter(owner=owner)
    with transaction.atomic():
        already = set(listed.values_list("recipient_id", flat=True))
        new = [pk for pk in recipients.values_list("pk", flat=True) if pk not in already]
        if len(already) + len(new) > MAX_SEED_RECIPIENTS:
            if owner:
                sentence = gettext(
                    "A test list holds at most %(most)s people; your list has %(count)s "
                    "and these would add %(new)s."
                )
            else:
                sentence = gettext(
                    "A test list holds at most %(most)s people; the shared list has %(count)s "
                    "and these would add %(new)s."
                )
            raise InvalidInput(
                sentence % {"most": MAX_SEED_RECIPIENTS, "count": len(already), "new": len(new)},
                field="recipients",
            )
        try:
            SeedRecipient.objects.bulk_create(
                [SeedRecipient(recipient_id=pk, owner=owner) for pk in new],
                ignore_conflicts=True,
            )
        except IntegrityError:  # a recipient deleted meanwhile
            raise InvalidInput(gettext("A recipient was deleted meanwhile; try again.")) from None
    return len(new)


def seed_recipients_remove(*, recipients: QuerySet[Recipient], owner: Any = None) -> int:
    """Take `recipients` off `owner`'s test list (the shared one when None); how many were."""
    owner = owner if getattr(owner, "pk", None) else None
    removed, _ = SeedRecipient.objects.filter(
        owner=owner, recipient_id__in=recipients.values("pk")
    ).delete()
    return removed
