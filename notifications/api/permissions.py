"""What a caller may do through the API.

An integration's API key reads, and writes unless it is read-only: keys are integrations, not
people, and carry no Django permissions.

A staff session gets exactly what the admin gives the same person. Each request asks for Django's
model permissions on the view's model: by its HTTP method (a read asks for view, POST for add,
PUT and PATCH for change, DELETE for delete), unless the view declares what an action asks
instead, as campaign transitions ask for `dispatch_campaign` like the admin's sending buttons.
A read is allowed with view or change permission, as in the admin.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_permission_codename
from django.db.models import Model
from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from ..models import IntegrationKey

# The admin verbs a request asks for on the view's model when the view declares nothing else.
METHOD_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "GET": ("view",),
    "HEAD": ("view",),
    "OPTIONS": ("view",),
    "POST": ("add",),
    "PUT": ("change",),
    "PATCH": ("change",),
    "DELETE": ("delete",),
}


class IntegrationAccess(BasePermission):
    """An API key within its scope, or a staff session with the admin's permissions."""

    message = "This API key is read-only: it may list and read, not change anything."

    def has_permission(self, request: Request, view: Any) -> bool:
        if isinstance(request.auth, IntegrationKey):
            return request.method in SAFE_METHODS or not request.auth.read_only
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if not user.is_staff:
            self.message = "Only staff users may use the API with a session."
            return False
        if request.method not in METHOD_PERMISSIONS:
            # No view here handles another method (TRACE): the answer keys get too.
            raise exceptions.MethodNotAllowed(request.method)
        missing = _missing_permissions(user, request, view)
        if missing:
            self.message = f"Your account may not do this: it lacks {' and '.join(missing)}."
        return not missing


def _required_permissions(request: Request, view: Any) -> tuple[str, ...]:
    """The admin verbs (`view`, `add`, `change`, `delete`, `dispatch`) this request asks for.

    A view declares an action's verbs in `action_permissions`, keyed by the viewset's action or,
    for a plain view, by its handler (`post`); otherwise the HTTP method decides.
    """
    action = getattr(view, "action", None) or request.method.lower()
    return view.action_permissions.get(action, METHOD_PERMISSIONS[request.method])


def _missing_permissions(user: Any, request: Request, view: Any) -> list[str]:
    """What the user lacks for this request, each as a phrase: `the permission app.codename`."""
    model = _model(view)
    missing = []
    for verb in _required_permissions(request, view):
        if verb == "view":
            # Django's admin shows an object to whoever may view or change it.
            accepted = [_permission(model, "view"), _permission(model, "change")]
            if not any(user.has_perm(name) for name in accepted):
                missing.append(f"the permission {accepted[0]} (or {accepted[1]})")
        elif not user.has_perm(_permission(model, verb)):
            missing.append(f"the permission {_permission(model, verb)}")
    return missing


def _model(view: Any) -> type[Model]:
    return view.permission_model or view.get_queryset().model


def _permission(model: type[Model], verb: str) -> str:
    return f"{model._meta.app_label}.{get_permission_codename(verb, model._meta)}"
