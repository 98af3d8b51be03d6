"""Rules said in the schema's descriptions, from the code that enforces them, so they
cannot drift: who may use a field (from its permission class), what an argument or
input field is when left out (from its default), and what a new site's program starts
with (from the domain's ProgramSettings)."""

from __future__ import annotations

from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING

from graphql import (
    GraphQLArgument,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    Undefined,
    ast_from_value,
    print_ast,
)
from strawberry.permission import BasePermission

from loyalty_gql.api.core.permissions import CanServeSite, IsAdmin, IsStaff
from loyalty_gql.domain.sites import ProgramSettings
from loyalty_gql.domain.spelling import snake

if TYPE_CHECKING:
    import strawberry

ACCESS_NOTES: dict[type[BasePermission], str] = {
    IsAdmin: "Admins only.",
    IsStaff: "Staff only (admins and the shop backend).",
    CanServeSite: "Staff only (admins and the shop backend).",
}
"""The note a field guarded by each class gets at the end of its description."""


def access_note(permission_classes: list[type[BasePermission]]) -> str | None:
    """What the description of a field guarded by these classes says about who may use it."""
    for permission in permission_classes:
        if permission in ACCESS_NOTES:
            return ACCESS_NOTES[permission]
    return None


def default_note(value: GraphQLArgument | GraphQLInputField) -> str | None:
    """'Default: ...' for an argument or input field with a non-null default."""
    if value.default_value is Undefined or value.default_value is None:
        return None
    literal = ast_from_value(value.default_value, value.type)
    return None if literal is None else f"Default: {print_ast(literal)}."


SETTINGS_INPUT = "ConfigureProgramInput"
_SETTING_OF = {"currencyCode": "currency"}  # input fields named otherwise than the setting
_NESTED = {"threshold_reward", "custom_activities"}  # their own input types say it


def new_site_note(field_name: str) -> str | None:
    """'A new site starts with ...' for a field of ConfigureProgramInput."""
    name = _SETTING_OF.get(field_name, snake(field_name))
    if name in _NESTED or name not in ProgramSettings.__dataclass_fields__:
        return None
    return f"A new site starts with {_literal(getattr(ProgramSettings(), name))}."


def _literal(value: object) -> str:
    """A setting's value as a client writes it in GraphQL."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return value.name
    if isinstance(value, tuple):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, str | Decimal):
        return f'"{value}"'
    return str(value)


def _with(description: str | None, note: str | None) -> str | None:
    if note is None or (description and description.endswith(note)):
        return description
    return f"{description} {note}" if description else note


def say_the_rules(schema: strawberry.Schema) -> None:
    """Add the access and default notes to the descriptions of the built schema."""
    for name, graphql_type in schema._schema.type_map.items():
        if name.startswith("__"):
            continue
        if isinstance(graphql_type, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in graphql_type.fields.items():
                own = schema.get_field_for_type(field_name, name)
                if own is not None:
                    field.description = _with(
                        field.description, access_note(list(own.permission_classes))
                    )
                for argument in field.args.values():
                    argument.description = _with(argument.description, default_note(argument))
        if isinstance(graphql_type, GraphQLInputObjectType):
            for field_name, input_field in graphql_type.fields.items():
                note = default_note(input_field)
                if name == SETTINGS_INPUT:
                    note = new_site_note(field_name)
                input_field.description = _with(input_field.description, note)
