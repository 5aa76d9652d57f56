"""A foreign key over several columns, which Django's fields cannot declare."""

from django.db import models


class CompositeForeignKey(models.BaseConstraint):
    """Make `fields` of each row equal `to_fields` of the row its last field points at.

    The last of `fields` is a ForeignKey; the columns `to_fields` of its model need a unique
    constraint of their own. For example fields=("user", "contact_method") and to_fields=("user",
    "id"): the contact method a row points at is one of that row's user's.

    Declared in Meta.constraints, so migrations create it on PostgreSQL (ALTER TABLE) and SQLite
    keeps it each time it rebuilds the table. Like the models' CASCADE foreign keys, deleting the
    row pointed at deletes the rows pointing at it; changing its `to_fields` changes theirs.
    Model validation is left to the model's clean(), which can say what is wrong in words.
    """

    def __init__(self, *, fields, to_fields, name: str) -> None:
        super().__init__(name=name)
        if len(fields) != len(to_fields):
            raise ValueError("CompositeForeignKey needs as many to_fields as fields")
        self.fields, self.to_fields = tuple(fields), tuple(to_fields)

    def _definition(self, model, schema_editor) -> str:
        quote = schema_editor.quote_name
        target = model._meta.get_field(self.fields[-1]).related_model
        mine = ", ".join(quote(model._meta.get_field(f).column) for f in self.fields)
        theirs = ", ".join(quote(target._meta.get_field(f).column) for f in self.to_fields)
        return (
            f"CONSTRAINT {quote(self.name)} FOREIGN KEY ({mine}) "
            f"REFERENCES {quote(target._meta.db_table)} ({theirs}) "
            "ON DELETE CASCADE ON UPDATE CASCADE"
        )

    def constraint_sql(self, model, schema_editor) -> str:
        return self._definition(model, schema_editor)

    def create_sql(self, model, schema_editor) -> str:
        table = schema_editor.quote_name(model._meta.db_table)
        return f"ALTER TABLE {table} ADD {self._definition(model, schema_editor)}"

    def remove_sql(self, model, schema_editor) -> str:
        table = schema_editor.quote_name(model._meta.db_table)
        return f"ALTER TABLE {table} DROP CONSTRAINT {schema_editor.quote_name(self.name)}"

    def validate(self, model, instance, exclude=None, using=None) -> None:
        """Check nothing here: the model's clean() names the field and the people."""

    def deconstruct(self):
        path, args, kwargs = super().deconstruct()
        return path, args, {**kwargs, "fields": self.fields, "to_fields": self.to_fields}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CompositeForeignKey):
            return NotImplemented
        same = (self.name, self.fields, self.to_fields)
        return same == (other.name, other.fields, other.to_fields)

    def __hash__(self) -> int:
        return hash((self.name, self.fields, self.to_fields))
