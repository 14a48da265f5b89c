"""Staff accounts and groups, their permissions named in the reader's language.

Django stores a permission's name in English when it migrates ("Can add campaign") and shows
that stored text, so a Russian page listed hundreds of English lines. Here a model's four
permissions read from the model's translated name, and a permission of our own from its
translated sentence (the same English, marked in the model's Meta).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, Permission, User
from django.db.models import ManyToManyField
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

ACTIONS = {
    "add": _("Can add: %(model)s"),
    "change": _("Can change: %(model)s"),
    "delete": _("Can delete: %(model)s"),
    "view": _("Can view: %(model)s"),
}


def permission_label(permission: Permission) -> str:
    """'Рассылки | рассылка | Может добавлять: рассылка', as Django's `str` but translated."""
    model = permission.content_type.model_class()
    if model is None:  # a content type whose model is gone
        return str(permission)
    action, _sep, model_name = permission.codename.partition("_")
    if action in ACTIONS and model_name == model._meta.model_name:
        name = ACTIONS[action] % {"model": model._meta.verbose_name}
    else:
        name = gettext(permission.name)
    return f"{model._meta.app_config.verbose_name} | {model._meta.verbose_name} | {name}"


class PermissionsTranslated:
    """The permissions picker of a user's or a group's page, labelled by `permission_label`."""

    def formfield_for_manytomany(
        self, db_field: ManyToManyField, request: HttpRequest, **kwargs: object
    ) -> forms.ModelMultipleChoiceField | None:
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if field is not None and db_field.related_model is Permission:
            field.label_from_instance = permission_label
            # The API key library's own model goes unused (ours is IntegrationKey, keys.py):
            # permissions on it would grant nothing.
            field.queryset = field.queryset.exclude(
                content_type__app_label="rest_framework_api_key"
            )
        return field


admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class StaffUserAdmin(PermissionsTranslated, UserAdmin):
    pass


@admin.register(Group)
class StaffGroupAdmin(PermissionsTranslated, GroupAdmin):
    pass
