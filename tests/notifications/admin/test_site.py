"""The admin site: every registered admin's pages open."""

import pytest
from django.contrib import admin
from django.urls import reverse

pytestmark = pytest.mark.django_db


pytestmark = pytest.mark.django_db


def test_every_admin_page_opens(staff, sample_rows):
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        changelist = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        # A singleton's list leads to its one page.
        assert staff.get(changelist, follow=True).status_code == 200, changelist
        obj = model.objects.first()
        if obj is not None:
            change = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
            assert staff.get(change).status_code == 200, change
        if model_admin.has_add_permission(type("R", (), {"user": staff_user()})()):
            add = reverse(f"admin:{meta.app_label}_{meta.model_name}_add")
            assert staff.get(add).status_code == 200, add


def staff_user():
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username="admin")
