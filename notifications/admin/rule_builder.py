"""The segment rule builder: the widget that edits a segment's rules as rows of conditions
(static/notifications/segment_builder.js over a hidden input holding their JSON), the words and
choices it offers (from `audiences/rules/vocabulary.py`, through `rule_vocabulary`), and the
form field that reads its JSON. The live count it asks is the audience admin's `count_view`.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms.fields import InvalidJSONInput
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, pgettext

from notifications.audiences.rules import (
    DELIVERY_STATUSES,
    NO_VALUE,
    SMS_EVENTS,
    operators_of,
    rule_fields,
)

from ..models import Audience, Campaign, Channel

# Campaigns an engagement condition offers, newest first (a rule naming an older one keeps it).
CAMPAIGN_CHOICES = 500


def rule_vocabulary(audience: Audience | None) -> dict[str, Any]:
    """What the rule builder offers, from the rules' own vocabulary: fields with their types,
    labels and operators, and the choices of channel, audience, campaign, status and event.

    `audience` is the segment being edited (None for a new one); it is not offered to itself.
    """
    return {
        "fields": [
            {
                "name": field.name,
                "type": field.type,
                "label": field.label,
                "operators": list(operators_of(field.name, field.type).items()),
            }
            for field in rule_fields()
        ],
        "no_value": sorted(NO_VALUE),
        "channels": list(Channel.choices),
        "audiences": list(
            Audience.objects.exclude(pk=audience.pk if audience else None).values_list("pk", "name")
        ),
        "campaigns": list(
            Campaign.objects.filter(kind=Campaign.Kind.CAMPAIGN)
            .order_by("-pk")
            .values_list("pk", "name")[:CAMPAIGN_CHOICES]
        ),
        "delivery_statuses": list(DELIVERY_STATUSES.items()),
        "sms_events": list(SMS_EVENTS.items()),
    }


def builder_words() -> dict[str, str]:
    """The words the rule builder shows, in the person's language: segment_builder.js has
    none of its own. Pieces around a control (`in`, `within`, `days`) keep their spaces."""
    return {
        "recipients_match": gettext("Recipients who match "),
        "of_these_conditions": gettext(" of these conditions:"),
        "group_match": gettext("Match "),
        "group_of": gettext(" of:"),
        "all": pgettext("segment rules match", "all"),
        "any": pgettext("segment rules match", "any"),
        "match": gettext("match"),
        "add_condition": gettext("+ Add condition"),
        "add_group": gettext("+ Add group"),
        "remove_group": gettext("Remove group"),
        "remove_condition": gettext("Remove this condition"),
        "no_conditions": gettext("No conditions yet."),
        "field": gettext("field"),
        "operator": gettext("operator"),
        "value": gettext("value"),
        "unknown_field": gettext("%(field)s (unknown)"),
        "group_recipient": gettext("Recipient"),
        "group_attributes": gettext("Attributes"),
        "group_special": gettext("Addresses, audiences and engagement"),
        "any_campaign": gettext("any campaign"),
        "campaign": gettext("campaign"),
        "status": gettext("status"),
        "event": gettext("event"),
        "in": gettext(" in "),
        "within": gettext(" within "),
        "within_days": gettext("within days"),
        "days": gettext(" days"),
        "days_label": gettext("days"),
        "any_number": gettext("any"),
        "on": gettext(" on "),
        "any_link": gettext("any link"),
        "link": gettext("link"),
        "from": gettext("from"),
        "and": gettext(" and "),
        "to": gettext("to"),
        "one_per_line": gettext("one per line"),
        "values_one_per_line": gettext("values, one per line"),
        "channel": gettext("channel"),
        "audience": gettext("audience"),
        "no_other_audience": gettext("no other audience yet"),
        "counting": gettext("counting…"),
        "count_failed": gettext("The count failed (HTTP %(status)s)."),
        "unreachable": gettext("The server could not be reached to count."),
    }


class RuleBuilder(forms.Widget):
    """A segment's rules as rows of conditions and groups (segment_builder.js), over a hidden
    input holding their JSON, with the live count of who they select."""

    class Media:
        css = {"all": ["notifications/segment_builder.css"]}
        js = ["notifications/segment_builder.js"]

    def __init__(self, audience: Audience | None = None) -> None:
        super().__init__()
        self.audience = audience

    def render(
        self, name: str, value: Any, attrs: dict | None = None, renderer: Any = None
    ) -> SafeString:
        context = {
            "name": name,
            "id": (attrs or {}).get("id") or f"id_{name}",
            "value": "" if value is None else value,
            "vocabulary": rule_vocabulary(self.audience),
            "words": builder_words(),
            "count_url": reverse("admin:notifications_audience_count"),
            "audience_id": self.audience.pk if self.audience else "",
        }
        # The template escapes every value; the widget's HTML is its output.
        return mark_safe(  # noqa: S308
            render_to_string("admin/notifications/audience/rule_builder.html", context)
        )


class RulesField(forms.JSONField):
    """The rules JSON the builder writes, refused rather than a 500 when it nests deeper than
    Python decodes (the rules' own depth is `rules_clean`'s to check), and shown again safely
    when the form comes back with an error."""

    def prepare_value(self, value: Any) -> str:
        # JSON's "\ud800" decodes to half a surrogate pair, which a UTF-8 page cannot hold;
        # written back as the same escape, the person sees what they typed.
        return super().prepare_value(value).encode("utf-8", "backslashreplace").decode()

    def to_python(self, value: Any) -> Any:
        try:
            return super().to_python(value)
        except RecursionError:
            raise ValidationError(gettext("The rules nest too deep.")) from None

    def bound_data(self, data: Any, initial: Any) -> Any:
        try:
            return super().bound_data(data, initial)
        except RecursionError:
            return InvalidJSONInput(data)
