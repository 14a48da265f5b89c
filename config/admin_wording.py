"""Django admin's sentences with a model's name inside, worded so that Russian reads right.

Django's admin makes its titles and messages by putting a model's verbose name into a phrase:
"Select %s to change", "Add %s", "The {name} “{obj}” was added successfully.". Russian declines
the noun by the phrase's grammar and genders the verb by the noun, and a verbose name gives only
the nominative, so Django's own Russian catalogue prints "Выберите рассылка для изменения",
"Добавить рассылка" and "Рассылка … был успешно добавлен".

Listing those msgids here puts them into our catalogue (`manage.py translations` extracts them),
and our catalogue comes before Django's (LOCALE_PATHS has the highest precedence). There each is
worded with the name after a colon, in the nominative, with no verb agreeing with it:
"Выбор для изменения: рассылка", "Добавлено: рассылка «Весна»". The English stays Django's.
(The bulk deletion's own sentences are ours already: `notifications/admin/base.py`; the list's
count is our `templates/admin/pagination.html`.)
Nothing imports this module; `tests/config/test_admin_wording.py` checks that every msgid is still
Django's, so a Django upgrade that rewords one fails the suite instead of silently going back.
"""

from __future__ import annotations

from django.utils.translation import gettext_noop, ngettext_lazy

WORDINGS = (
    # Page titles and buttons.
    gettext_noop("Select %s"),
    gettext_noop("Select %s to change"),
    gettext_noop("Select %s to view"),
    gettext_noop("Add %s"),
    gettext_noop("Change %s"),
    gettext_noop("View %s"),
    gettext_noop("Add %(name)s"),
    gettext_noop("Add another %(verbose_name)s"),
    gettext_noop("Cannot delete %(name)s"),
    gettext_noop("Select all %(total_count)s %(module_name)s"),
    # Messages after a save or a deletion, and the history log's entries.
    gettext_noop("The {name} “{obj}” was added successfully."),
    gettext_noop("The {name} “{obj}” was added successfully. You may add another {name} below."),
    gettext_noop("The {name} “{obj}” was changed successfully."),
    gettext_noop("The {name} “{obj}” was changed successfully. You may edit it again below."),
    gettext_noop("The {name} “{obj}” was changed successfully. You may add another {name} below."),
    gettext_noop("The %(name)s “%(obj)s” was deleted successfully."),
    gettext_noop("%(name)s with ID “%(key)s” doesn’t exist. Perhaps it was deleted?"),  # noqa: RUF001 - Django's own apostrophe
    gettext_noop("Added {name} “{object}”."),
    gettext_noop("Changed {fields} for {name} “{object}”."),
    gettext_noop("Deleted {name} “{object}”."),
    ngettext_lazy(
        "%(count)s %(name)s was changed successfully.",
        "%(count)s %(name)s were changed successfully.",
    ),
    # The deletion confirmation pages.
    gettext_noop(
        'Are you sure you want to delete the %(object_name)s "%(escaped_object)s"? All of the '
        "following related items will be deleted:"
    ),
    gettext_noop(
        "Deleting the %(object_name)s '%(escaped_object)s' would require deleting the "
        "following protected related objects:"
    ),
    gettext_noop(
        "Deleting the %(object_name)s '%(escaped_object)s' would result in deleting related "
        "objects, but your account doesn't have permission to delete the following types of "
        "objects:"
    ),
    gettext_noop(
        "Are you sure you want to delete the selected %(objects_name)s? All of the following "
        "objects and their related items will be deleted:"
    ),
    gettext_noop(
        "Deleting the selected %(objects_name)s would require deleting the following protected "
        "related objects:"
    ),
    gettext_noop(
        "Deleting the selected %(objects_name)s would result in deleting related objects, but "
        "your account doesn't have permission to delete the following types of objects:"
    ),
)
