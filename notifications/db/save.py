"""Saving only the fields a caller changed."""

from __future__ import annotations

from typing import Any


def save_fields(instance: Any, data: dict[str, Any]) -> None:
    """Insert a new row whole; of an existing one write only the columns in `data`.

    A full save would also write back every other column as this instance last read it, undoing
    what an import or another person changed in the meantime.
    """
    for name, value in data.items():
        setattr(instance, name, value)
    if instance._state.adding:
        instance.save()
        return
    stamps = [f.name for f in instance._meta.concrete_fields if getattr(f, "auto_now", False)]
    instance.save(update_fields=[*data, *stamps])
