"""Inbound webhook routes."""

urlpatterns: list = []
