"""What a caller may do through the API.

An integration's API key reads, and writes unless it is read-only: keys are integrations, not
people, and carry no Django permissions. A read-only key may also do what a view declares a
read (a preview, which saves nothing).

A staff session gets exactly what the admin gives the same person. Each request asks for Django's
model permissions on the view's model: by its HTTP method, as DRF's `DjangoModelPermissions` maps
them (a read asks for view, POST for add, PUT and PATCH for change, DELETE for delete), unless the
view declares what an action asks instead, as campaign transitions ask for `dispatch_campaign`
like the admin's sending buttons. Where the answer depends on the request itself (a test list
entry: one's own, or the shared list), the view says so in `permission_needs`.
A read is allowed with view or change permission, as in the admin.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_permission_codename
from django.db.models import Model
from django.utils.translation import gettext, gettext_lazy
from rest_framework.permissions import SAFE_METHODS, DjangoModelPermissions
from rest_framework.request import Request

from ..models import IntegrationKey

_VIEW = ["%(app_label)s.view_%(model_name)s"]


class IntegrationAccess(DjangoModelPermissions):
    """An API key within its scope, or a staff session with the admin's permissions."""

    # DRF's map, where a read asks for the view permission as the admin's pages do. No view here
    # handles another method (TRACE): `get_required_permissions` answers 405, as keys get too.
    perms_map = {**DjangoModelPermissions.perms_map, "GET": _VIEW, "HEAD": _VIEW, "OPTIONS": _VIEW}
    message = gettext_lazy("This API key is read-only: it may list and read, not change anything.")

    def has_permission(self, request: Request, view: Any) -> bool:
        if isinstance(request.auth, IntegrationKey):
            return (
                request.method in SAFE_METHODS
                or not request.auth.read_only
                or _declared_read(request, view)
            )
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if not user.is_staff:
            self.message = gettext("Only staff users may use the API with a session.")
            return False
        needs = view.permission_needs(request)
        if needs is None:
            model = view.permission_model or view.get_queryset().model
            required = self._required_permissions(request, view, model)
        else:
            model, verbs = needs
            # Asked for its 405 on a method nobody handles, as below.
            self.get_required_permissions(request.method, model)
            required = [_permission(model, verb) for verb in verbs]
        missing = _missing_permissions(user, model, required)
        if missing:
            self.message = gettext("Your account may not do this: it lacks %(missing)s.") % {
                "missing": _joined(missing)
            }
        return not missing

    def _required_permissions(self, request: Request, view: Any, model: type[Model]) -> list[str]:
        """The permissions this request asks for, as `app_label.codename`.

        A view declares an action's verbs in `action_permissions`, keyed by the viewset's action
        or, for a plain view, by its handler (`post`); otherwise the HTTP method decides.
        """
        # Asked even where the action declares its own: it refuses (405) a method nobody handles.
        by_method = self.get_required_permissions(request.method, model)
        action = getattr(view, "action", None) or request.method.lower()
        if action not in view.action_permissions:
            return by_method
        return [_permission(model, verb) for verb in view.action_permissions[action]]


def _declared_read(request: Request, view: Any) -> bool:
    """Whether the view declares this action a read: it asks for the view permission alone."""
    needs = view.permission_needs(request)
    if needs is not None:
        return needs[1] == ("view",)
    action = getattr(view, "action", None) or request.method.lower()
    return view.action_permissions.get(action) == ("view",)


def _missing_permissions(user: Any, model: type[Model], required: list[str]) -> list[str]:
    """What the user lacks of `required`, each as a phrase: `the permission app.codename`."""
    view, change = _permission(model, "view"), _permission(model, "change")
    missing = []
    for name in required:
        if name == view:
            # Django's admin shows an object to whoever may view or change it.
            if not (user.has_perm(view) or user.has_perm(change)):
                missing.append(
                    gettext("the permission %(name)s (or %(alternative)s)")
                    % {"name": view, "alternative": change}
                )
        elif not user.has_perm(name):
            missing.append(gettext("the permission %(name)s") % {"name": name})
    return missing


def _joined(phrases: list[str]) -> str:
    """The phrases as one: `a and b and c`, each joint worded by the language."""
    text = phrases[0]
    for phrase in phrases[1:]:
        text = gettext("%(first)s and %(second)s") % {"first": text, "second": phrase}
    return text


def _permission(model: type[Model], verb: str) -> str:
    return f"{model._meta.app_label}.{get_permission_codename(verb, model._meta)}"


def may_dispatch(request: Request) -> bool:
    """Whether the caller may make sending decisions, as the campaign's dispatch action asks:
    an API key that is not read-only (keys carry no Django permissions, and may dispatch), or
    staff with `dispatch_campaign`. Services that need to know are told this."""
    if isinstance(request.auth, IntegrationKey):
        return not request.auth.read_only
    return request.user.has_perm("notifications.dispatch_campaign")
