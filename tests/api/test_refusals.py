"""A DomainError raised by any root field becomes its refusal, written once
(api/core/refusals.py): a mutation's payload with empty results and userErrors, a
query's top-level error carrying the code and the userErrors."""

from __future__ import annotations

from typing import Annotated

import strawberry
from graphql import GraphQLObjectType, GraphQLSchema, graphql

from loyalty_gql.api.core.arguments import guard_arguments
from loyalty_gql.api.core.errors import UserError
from loyalty_gql.api.core.refusals import payload_refusal, problems_under
from loyalty_gql.api.schema import schema as app_schema
from loyalty_gql.domain.errors import DomainError, ErrorCode, FieldProblem

OUT_OF_STOCK = DomainError(
    [
        FieldProblem(("count",), ErrorCode.INVALID_VALUE, "at most 3"),
        FieldProblem((), ErrorCode.PROGRAM_DISABLED, "the program is off"),
    ]
)


@strawberry.input
class OrderWidgetsInput:
    count: int


@strawberry.type
class OrderWidgetsPayload:
    widget: str | None
    codes: list[str]
    ordered: int
    done: bool
    user_errors: list[UserError]


@strawberry.type
class Query:
    @strawberry.field
    async def widget(self, input: OrderWidgetsInput) -> str:
        raise OUT_OF_STOCK

    @strawberry.field
    async def widget_by_name(self, name: str) -> str:
        raise DomainError.single(ErrorCode.NOT_FOUND, "no such widget", "name")

    @strawberry.field
    def sync_widget(self) -> str:
        raise DomainError.single(ErrorCode.NOT_FOUND, "no widget at all")


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def order_widgets(self, input: OrderWidgetsInput) -> OrderWidgetsPayload:
        raise OUT_OF_STOCK

    @strawberry.mutation
    async def order_nested(
        self, input: Annotated[OrderWidgetsInput, strawberry.argument()]
    ) -> OrderWidgetsPayload:
        await problems_under("terms", _refuse(), own=("count",))
        return OrderWidgetsPayload(widget="w", codes=[], ordered=1, done=True, user_errors=[])


async def _refuse() -> None:
    raise DomainError(
        [
            FieldProblem(("count",), ErrorCode.INVALID_VALUE, "stays"),
            FieldProblem(("name",), ErrorCode.REQUIRED, "moves"),
            FieldProblem((), ErrorCode.INVALID_STATE, "has no field"),
        ]
    )


def _schema() -> GraphQLSchema:
    schema = strawberry.Schema(query=Query, mutation=Mutation)._schema
    guard_arguments(schema)
    guard_arguments(schema)  # a second call changes nothing
    return schema


async def test_a_domain_error_in_a_mutation_is_its_payload_with_user_errors():
    # given
    schema = _schema()
    # when
    result = await graphql(
        schema,
        "mutation { orderWidgets(input: {count: 9}) {"
        " widget codes ordered done userErrors { field code message } } }",
    )
    # then: every result empty, the paths from `input`
    assert result.errors is None
    assert result.data == {
        "orderWidgets": {
            "widget": None,
            "codes": [],
            "ordered": 0,
            "done": False,
            "userErrors": [
                {"field": ["input", "count"], "code": "INVALID_VALUE", "message": "at most 3"},
                {"field": [], "code": "PROGRAM_DISABLED", "message": "the program is off"},
            ],
        }
    }


async def test_problems_of_a_nested_input_sit_under_it():
    # given
    schema = _schema()
    # when
    result = await graphql(
        schema, "mutation { orderNested(input: {count: 1}) { widget userErrors { field code } } }"
    )
    # then
    assert result.errors is None
    assert result.data == {
        "orderNested": {
            "widget": None,
            "userErrors": [
                {"field": ["input", "count"], "code": "INVALID_VALUE"},
                {"field": ["input", "terms", "name"], "code": "REQUIRED"},
                {"field": [], "code": "INVALID_STATE"},
            ],
        }
    }


async def test_a_domain_error_in_a_query_is_a_top_level_error_with_user_errors():
    # given
    schema = _schema()
    # when
    with_input = await graphql(schema, "{ widget(input: {count: 9}) }")
    without_input = await graphql(schema, '{ widgetByName(name: "x") }')
    sync = await graphql(schema, "{ syncWidget }")
    # then: paths from `input` when the query takes one, as the client wrote them otherwise
    assert with_input.data is None
    assert [(e.message, e.extensions) for e in with_input.errors or []] == [
        (
            "at most 3; the program is off",
            {
                "code": "INVALID_VALUE",
                "userErrors": [
                    {"field": ["input", "count"], "code": "INVALID_VALUE", "message": "at most 3"},
                    {
                        "field": ["input"],
                        "code": "PROGRAM_DISABLED",
                        "message": "the program is off",
                    },
                ],
            },
        )
    ]
    assert [e.extensions for e in without_input.errors or []] == [
        {
            "code": "NOT_FOUND",
            "userErrors": [{"field": ["name"], "code": "NOT_FOUND", "message": "no such widget"}],
        }
    ]
    assert [e.extensions for e in sync.errors or []] == [
        {
            "code": "NOT_FOUND",
            "userErrors": [{"field": [], "code": "NOT_FOUND", "message": "no widget at all"}],
        }
    ]


def test_every_mutation_of_the_schema_can_answer_with_user_errors():
    # given
    mutation = app_schema._schema.mutation_type
    assert isinstance(mutation, GraphQLObjectType)
    # when
    without_payload = [
        name for name, field in mutation.fields.items() if payload_refusal(field) is None
    ]
    # then: a DomainError in any of them becomes its own payload's userErrors
    assert without_payload == []
    assert all("userErrors" in f.type.of_type.fields for f in mutation.fields.values())
