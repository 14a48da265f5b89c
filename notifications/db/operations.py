"""Migration operations that keep a busy PostgreSQL writable while they run."""

from __future__ import annotations

from django.db.migrations.operations import AddIndex


class AddIndexOnline(AddIndex):
    """`AddIndex`, built with CREATE INDEX CONCURRENTLY on PostgreSQL.

    A plain CREATE INDEX blocks every write to the table until it finishes: on a deliveries
    table of hundreds of millions of rows, senders would stop for minutes. Its migration must
    say `atomic = False` (PostgreSQL refuses CONCURRENTLY inside a transaction). Other
    databases build it the plain way.
    """

    def _concurrently(self, schema_editor) -> bool:
        return schema_editor.connection.vendor == "postgresql"

    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if not self._concurrently(schema_editor):
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        model = to_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            schema_editor.add_index(model, self.index, concurrently=True)

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if not self._concurrently(schema_editor):
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        model = from_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            schema_editor.remove_index(model, self.index, concurrently=True)
