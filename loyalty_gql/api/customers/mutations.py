"""Mutations on customers: registration, profile, enrolment."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry.utils.str_converters import to_camel_case

from loyalty_gql.api.core.arguments import IDEMPOTENCY_KEY, INPUT
from loyalty_gql.api.core.errors import UserError
from loyalty_gql.api.core.permissions import PUBLIC, WITHIN_PARENT, IsStaff, IsStaffOrCustomer
from loyalty_gql.api.core.resolving import (
    AppInfo,
    retry_of,
    staff_site,
    visible_customer,
)
from loyalty_gql.api.customers.types import Customer
from loyalty_gql.db.models import CustomerRow
from loyalty_gql.domain.customers import CustomerChanges, CustomerProfile
from loyalty_gql.domain.errors import DomainError, ErrorCode
from loyalty_gql.services import customers as service


@strawberry.input(description="A customer the shop registers.")
class RegisterCustomerInput:
    """A new customer of a site."""

    site_id: strawberry.ID = strawberry.field(description="Global ID of the site.")
    external_id: str = strawberry.field(
        description="The customer's id in the shop platform; unique per site, never changes."
    )
    email: str | None = strawberry.field(default=None, description="Email address.")
    name: str | None = strawberry.field(default=None, description="Name for greetings.")
    groups: list[str] = strawberry.field(
        default_factory=list, description="Customer groups, e.g. wholesale or staff."
    )
    marketing_consent: bool = strawberry.field(
        default=False, description="Whether the customer agreed to marketing messages."
    )
    enroll: bool = strawberry.field(
        default=False, description="Enrol the customer in the program at once."
    )
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.input(description="Profile fields to change; omitted fields keep their value.")
class UpdateCustomerInput:
    """A partial profile update."""

    customer_id: strawberry.ID = strawberry.field(description="Global ID of the customer.")
    email: str | None = strawberry.field(
        default=strawberry.UNSET, description="New email; null removes it."
    )
    name: str | None = strawberry.field(
        default=strawberry.UNSET, description="New name; null removes it."
    )
    groups: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="The full new list of groups."
    )
    marketing_consent: bool | None = strawberry.field(
        default=strawberry.UNSET, description="New consent."
    )
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.input(description="Whose enrolment changes.")
class EnrollmentInput:
    """A customer joining or leaving the program."""

    customer_id: strawberry.ID | None = strawberry.field(
        default=None, description="Global ID of the customer; omit with a customer token."
    )
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.type(description="A customer after a change, or why it was refused.")
class CustomerPayload:
    """Result of a customer mutation."""

    customer: Customer | None = strawberry.field(
        description="The customer as it is now.", metadata=WITHIN_PARENT
    )
    user_errors: list[UserError] = strawberry.field(
        description="Why nothing was changed.", metadata=PUBLIC
    )


def _customer_payload(row: CustomerRow) -> CustomerPayload:
    return CustomerPayload(customer=Customer.from_row(row), user_errors=[])


@strawberry.type
class CustomerMutations:
    """Changing customers."""

    @strawberry.mutation(
        description="Register a shop customer; idempotent on (site, externalId).",
        permission_classes=[IsStaff],
    )
    async def register_customer(
        self,
        info: AppInfo,
        input: Annotated[RegisterCustomerInput, strawberry.argument(description=INPUT)],
    ) -> CustomerPayload:
        """Register a customer."""
        ctx = info.context
        site_pk = staff_site(info, input.site_id)
        profile = CustomerProfile(
            external_id=input.external_id,
            email=input.email,
            name=input.name,
            groups=tuple(input.groups),
            marketing_consent=input.marketing_consent,
        )
        row = await service.register_customer(
            ctx.db,
            site_id=site_pk,
            profile=profile,
            enroll=input.enroll,
            actor=ctx.actor,
            clock=ctx.clock,
            retry=retry_of(info, input.idempotency_key),
        )
        return _customer_payload(row)

    @strawberry.mutation(
        description="Change a customer's email, name, groups or consent.",
        permission_classes=[IsStaff],
    )
    async def update_customer(
        self,
        info: AppInfo,
        input: Annotated[UpdateCustomerInput, strawberry.argument(description=INPUT)],
    ) -> CustomerPayload:
        """Update a customer."""
        ctx = info.context
        changes: dict[str, Any] = {
            name: value
            for name, value in vars(input).items()
            if value is not strawberry.UNSET and name not in ("customer_id", "idempotency_key")
        }
        for name in ("groups", "marketing_consent"):
            if name in changes and changes[name] is None:
                raise DomainError.single(
                    ErrorCode.REQUIRED, "may be omitted but not null", to_camel_case(name)
                )
        if "groups" in changes:
            changes["groups"] = tuple(changes["groups"])
        row = await service.update_customer(
            ctx.db,
            customer_id=await visible_customer(info, input.customer_id),
            changes=CustomerChanges(**changes),
            actor=ctx.actor,
            clock=ctx.clock,
            retry=retry_of(info, input.idempotency_key),
        )
        return _customer_payload(row)

    @strawberry.mutation(
        description="Enrol a customer in the program (staff, or the customer themselves).",
        permission_classes=[IsStaffOrCustomer],
    )
    async def enroll_customer(
        self,
        info: AppInfo,
        input: Annotated[EnrollmentInput, strawberry.argument(description=INPUT)],
    ) -> CustomerPayload:
        """Enrol a customer."""
        ctx = info.context
        row = await service.enroll_customer(
            ctx.db,
            customer_id=await visible_customer(info, input.customer_id),
            actor=ctx.actor,
            clock=ctx.clock,
            retry=retry_of(info, input.idempotency_key),
        )
        return _customer_payload(row)

    @strawberry.mutation(
        description="Take a customer out of the program (staff, or the customer themselves).",
        permission_classes=[IsStaffOrCustomer],
    )
    async def leave_program(
        self,
        info: AppInfo,
        input: Annotated[EnrollmentInput, strawberry.argument(description=INPUT)],
    ) -> CustomerPayload:
        """A customer leaves the program."""
        ctx = info.context
        row = await service.leave_program(
            ctx.db,
            customer_id=await visible_customer(info, input.customer_id),
            actor=ctx.actor,
            clock=ctx.clock,
            retry=retry_of(info, input.idempotency_key),
        )
        return _customer_payload(row)
