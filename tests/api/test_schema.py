"""The committed schema matches the code, everything is described, every field is guarded."""

from __future__ import annotations

from pathlib import Path

import strawberry
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNonNull,
    GraphQLObjectType,
    Undefined,
    get_named_type,
)

from loyalty_gql.api.core.permissions import CanServeSite, IsAdmin, IsStaff
from loyalty_gql.api.node_query import _RESOLVERS
from loyalty_gql.api.schema import build_schema, printed_schema

SCHEMA_FILE = Path(__file__).parents[2] / "schema.graphql"
BUILT_IN = {"String", "Int", "Float", "Boolean", "ID"}


def _schema():
    return build_schema()


def _own_types(schema):
    return {
        name: t
        for name, t in schema._schema.type_map.items()
        if not name.startswith("__") and name not in BUILT_IN
    }


def test_schema_graphql_is_the_printed_schema():
    assert SCHEMA_FILE.read_text() == printed_schema(), (
        "schema.graphql is stale: run `loyalty-gql export-schema --output schema.graphql`"
    )


def test_every_type_field_and_argument_has_a_description():
    missing = []
    for name, graphql_type in _own_types(_schema()).items():
        if not graphql_type.description:
            missing.append(name)
        if isinstance(graphql_type, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in graphql_type.fields.items():
                if not field.description:
                    missing.append(f"{name}.{field_name}")
                missing += [
                    f"{name}.{field_name}({arg})"
                    for arg, argument in field.args.items()
                    if not argument.description
                ]
        if isinstance(graphql_type, GraphQLInputObjectType):
            missing += [
                f"{name}.{field_name}"
                for field_name, field in graphql_type.fields.items()
                if not field.description
            ]
        if isinstance(graphql_type, GraphQLEnumType) and not graphql_type.description:
            missing.append(name)
    assert missing == []


def _auth_of(schema, type_name: str, field_name: str) -> str:
    """How a field is guarded: 'check', 'public', 'parent', or '' for not at all."""
    field = schema.get_field_for_type(field_name, type_name)
    if field is None:
        return ""
    if field.permission_classes:
        return "check"
    return str((field.metadata or {}).get("auth", ""))


def test_every_field_has_a_permission_check_or_is_declared_public():
    # given
    schema = _schema()
    types = {
        name: t
        for name, t in _own_types(schema).items()
        if isinstance(t, GraphQLObjectType | GraphQLInterfaceType)
    }
    auth = {
        (name, field_name): _auth_of(schema, name, field_name)
        for name, t in types.items()
        for field_name in t.fields
    }
    # then: nothing is left unguarded
    assert [f"{t}.{f}" for (t, f), how in auth.items() if not how] == []
    # and the root fields all carry a real check
    roots = {"Query", "Mutation"}
    assert [f"{t}.{f}" for (t, f), how in auth.items() if t in roots and how != "check"] == []

    # "parent" fields are only safe in types reachable solely through guarded fields
    returning: dict[str, list[tuple[str, str]]] = {}
    for name, t in types.items():
        for field_name, field in t.fields.items():
            returning.setdefault(get_named_type(field.type).name, []).append((name, field_name))
    guarded: set[str] = set()
    changed = True
    while changed:
        changed = False
        for name in types:
            if name in guarded or name in roots or not returning.get(name):
                continue
            if all(
                auth[(owner, f)] == "check" or (auth[(owner, f)] == "parent" and owner in guarded)
                for owner, f in returning[name]
            ):
                guarded.add(name)
                changed = True
    unsafe = [f"{t}.{f}" for (t, f), how in auth.items() if how == "parent" and t not in guarded]
    assert unsafe == []


@strawberry.type(description="A type nobody guarded.")
class _Leaky:
    secret: str = strawberry.field(description="Unguarded.")


@strawberry.type(description="Root.")
class _LeakyQuery:
    @strawberry.field(description="Unguarded.")
    def leaky(self) -> _Leaky:
        return _Leaky(secret="s")


def test_the_permission_walk_notices_an_unguarded_field():
    # The walk above must be able to fail: unmarked fields are reported as unguarded.
    schema = strawberry.Schema(query=_LeakyQuery)
    assert _auth_of(schema, "_LeakyQuery", "leaky") == ""
    assert _auth_of(schema, "_Leaky", "secret") == ""


def _guarded_fields(schema, *classes):
    """(type, field, description) of every field guarded by one of ``classes``."""
    found = []
    for name, graphql_type in _own_types(schema).items():
        if not isinstance(graphql_type, GraphQLObjectType | GraphQLInterfaceType):
            continue
        for field_name, field in graphql_type.fields.items():
            own = schema.get_field_for_type(field_name, name)
            if own is not None and set(own.permission_classes) & set(classes):
                found.append((name, field_name, field.description or ""))
    return found


def test_every_admin_or_staff_only_field_says_so():
    # given
    schema = _schema()
    # then: the description of each field names who may use it, as its permission class does
    admins = _guarded_fields(schema, IsAdmin)
    staff = _guarded_fields(schema, IsStaff, CanServeSite)
    assert [f"{t}.{f}" for t, f, d in admins if not d.endswith("Admins only.")] == []
    assert [
        f"{t}.{f}"
        for t, f, d in staff
        if not d.endswith("Staff only (admins and the shop backend).")
    ] == []
    assert ("Mutation", "grantPoints") in {(t, f) for t, f, _ in admins}
    # (an order's points are its customer's to see since viewer.orders; not what was lost)
    assert ("Order", "pointsNotRecovered") in {(t, f) for t, f, _ in staff}
    # and a field open to customers says nothing of the kind
    balance = schema._schema.type_map["Customer"].fields["balance"]
    assert "only" not in balance.description


def test_every_non_null_default_is_in_the_description():
    # given
    schema = _schema()
    missing = []
    for name, graphql_type in _own_types(schema).items():
        values = []
        if isinstance(graphql_type, GraphQLObjectType | GraphQLInterfaceType):
            values = [
                (f"{name}.{f}({a})", arg)
                for f, field in graphql_type.fields.items()
                for a, arg in field.args.items()
            ]
        if isinstance(graphql_type, GraphQLInputObjectType):
            values = [(f"{name}.{f}", field) for f, field in graphql_type.fields.items()]
        missing += [
            where
            for where, value in values
            if value.default_value not in (Undefined, None)
            and "Default: " not in (value.description or "")
        ]
    # then
    assert missing == []
    printed = SCHEMA_FILE.read_text()
    assert '"""How many days ahead to look (1-3650). Default: 30."""' in printed
    assert '"""Days the voucher is usable after it is issued. Default: 90."""' in printed


def test_a_new_sites_program_settings_are_in_the_configure_input():
    # given
    fields = _schema()._schema.type_map["ConfigureProgramInput"].fields
    # then: what a site starts with (the domain's ProgramSettings) is said per setting
    assert fields["orderPointsPending"].description.endswith("A new site starts with true.")
    assert fields["pointsRounding"].description.endswith("A new site starts with DOWN.")
    assert fields["earnRate"].description.endswith('A new site starts with "10".')
    assert fields["enabled"].description.endswith("A new site starts with false.")
    assert fields["currencyCode"].description.endswith('A new site starts with "EUR".')


def test_the_site_code_format_is_stated_where_a_site_is_made():
    # given
    code = _schema()._schema.type_map["CreateSiteInput"].fields["code"]
    # then
    assert "lower-case a-z, digits 0-9 and -" in code.description
    assert "2-63 characters" in code.description


STAFF_ONLY = (IsAdmin, IsStaff, CanServeSite)


def _open_to_customers(schema) -> set[str]:
    """The object types a customer token can reach: from the roots through fields that
    are not staff-only, and every type node(id:) resolves."""
    types = schema._schema.type_map
    reach = {"Query", "Mutation", *_RESOLVERS}
    todo = list(reach)
    while todo:
        graphql_type = types[todo.pop()]
        if not isinstance(graphql_type, GraphQLObjectType):
            continue
        for field_name, field in graphql_type.fields.items():
            own = schema.get_field_for_type(field_name, graphql_type.name)
            if own is not None and set(own.permission_classes) & set(STAFF_ONLY):
                continue
            target = get_named_type(field.type).name
            if isinstance(types[target], GraphQLObjectType) and target not in reach:
                reach.add(target)
                todo.append(target)
    return reach


def test_a_staff_only_field_a_customer_can_reach_is_nullable():
    # given: the types a customer's query can reach
    schema = _schema()
    reach = _open_to_customers(schema)
    assert {"Customer", "LedgerEntry", "Offer", "Order", "Site", "MyOffer"} <= reach
    # then: their staff-only fields are nullable, so refusing one nulls that field, never
    # the object around it (viewer { ledger { nodes { actor } } } keeps viewer)
    non_null = [
        f"{t}.{f}"
        for t, f, _ in _guarded_fields(schema, *STAFF_ONLY)
        if t in reach - {"Query", "Mutation"}
        and isinstance(schema._schema.type_map[t].fields[f].type, GraphQLNonNull)
    ]
    assert non_null == []
    assert ("LedgerEntry", "actor") in {(t, f) for t, f, _ in _guarded_fields(schema, *STAFF_ONLY)}
