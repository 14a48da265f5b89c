"""A segment's rules: their vocabulary (`vocabulary`), one value in its stored form (`values`),
and the check that turns what staff or an integration sent into rules the query can trust
(`checks`).

Rules are JSON. A group is `{"match": "all" | "any", "rules": [...]}`, and the rules of a
segment are one group. A rule inside a group is another group or a condition
`{"field": ..., "op": ..., "value": ...}`:

| field | what it is | operators |
|---|---|---|
| `external_id`, `phone`, `first_name`, `last_name` | the recipient's own text | text |
| `created_at`, `updated_at` | when the recipient was added or last changed | date |
| `opted_out` | whether the recipient opted out | boolean |
| `attributes.<name>` | a registered attribute, by its type | its type's, and `exists`, `missing` |
| `address` | has an address on a channel (value: the channel) | `has`, `has_not` |
| `audience` | is in another audience (value: its id) | `in`, `not_in` |
| `delivery` | a delivery to them ended so (value below) | `was`, `was_not` |
| `sms` | an SMS to them was so (value below) | `was`, `was_not` |

A `delivery` value is `{"status": "sent" | "failed" | "unknown" | "skipped", "campaign": id,
"within_days": N}` with a campaign, the days (any campaign's deliveries of the last N days), or
both. An `sms` value is `{"event": "sent" | "delivered" | "lost" | "clicked", "campaign": id,
"within_days": N, "link": "https://..."}`, each but the event optional (a link: clicks only).

Operators by type: text `eq`, `ne`, `contains`, `starts_with`, `in` (a list), `empty`,
`not_empty`; number `eq`, `ne`, `lt`, `lte`, `gt`, `gte`, `between` (`[low, high]`); date `on`,
`before`, `after`, `between`, `within_days` (in the last N days), `older_than_days`; boolean
`is_true`, `is_false`.

`rules_clean` checks every condition against the attribute registry and the database, and
returns the rules with values in their stored form (numbers as numbers, dates as ISO dates);
every problem is reported at once, each naming its rule ("Rule 2.1"), as InvalidInput on
`rules`. A field or operator added to the vocabulary's tables is checked, and offered by the
rule builder and the API schema, from there.
"""

# What the rest of the product imports, from here: the modules are how the package is built.
from .checks import rules_clean
from .vocabulary import (
    ATTRIBUTE_OPERATORS,
    ATTRIBUTE_PREFIX,
    BOOLEAN,
    DATE,
    DELIVERY_STATUSES,
    MAX_DEPTH,
    NO_VALUE,
    NUMBER,
    OPERATORS,
    RECIPIENT_FIELDS,
    SMS_EVENTS,
    SPECIAL_FIELDS,
    TEXT,
    FieldInfo,
    audience_references,
    operators_of,
    rule_fields,
)

__all__ = [
    "ATTRIBUTE_OPERATORS",
    "ATTRIBUTE_PREFIX",
    "BOOLEAN",
    "DATE",
    "DELIVERY_STATUSES",
    "MAX_DEPTH",
    "NO_VALUE",
    "NUMBER",
    "OPERATORS",
    "RECIPIENT_FIELDS",
    "SMS_EVENTS",
    "SPECIAL_FIELDS",
    "TEXT",
    "FieldInfo",
    "audience_references",
    "operators_of",
    "rule_fields",
    "rules_clean",
]
