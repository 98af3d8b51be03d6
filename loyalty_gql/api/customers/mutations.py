"""Mutations on customers: registration, profile, enrolment."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry.utils.str_converters import to_camel_case

from loyalty_gql.api.core.arguments import IDEMPOTENCY_KEY, INPUT
from loyalty_gql.api.core.errors import UserError
from loyalty_gql.api.core.permissions import (
    PUBLIC,
    WITHIN_PARENT,
    IsCustomer,
    IsStaff,
    IsStaffOrCustomer,
)
from loyalty_gql.api.core.resolving import (
    AppInfo,
    retry_of,
    staff_site,
    visible_customer,
)
from loyalty_gql.api.customers.types import Customer
from loyalty_gql.db.models import CustomerRow
from loyalty_gql.domain.customers import BirthDate, CustomerChanges, CustomerProfile
from loyalty_gql.domain.errors import DomainError, ErrorCode
from loyalty_gql.services import customers as service
from loyalty_gql.services import referrals


@strawberry.input(description="A birth date: month and day, the year optional.")
class BirthDateInput:
    """A birth date as given."""

    month: int = strawberry.field(description="Month, 1-12.")
    day: int = strawberry.field(description="Day of the month (29 February is allowed).")
    year: int | None = strawberry.field(
        default=None, description="Year, when known: 1900 on, the date not after today."
    )

    def to_domain(self) -> BirthDate:
        """The domain value (checked by the service)."""
        return BirthDate(self.month, self.day, self.year)


REFERRAL_CODE = (
    "A friend's referral code (case-insensitive; blank is none): the customer is linked to "
    "that referrer once and gets the site's welcome voucher. A refused code "
    "(REFERRAL_CODE_NOT_FOUND, SELF_REFERRAL, ALREADY_REFERRED, REFERRAL_NOT_NEW_CUSTOMER, "
    "REFERRAL_CAP_REACHED) refuses the whole mutation: nothing is written."
)


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
    birth_date: BirthDateInput | None = strawberry.field(
        default=None, description="The customer's birth date, if known."
    )
    referral_code: str | None = strawberry.field(default=None, description=REFERRAL_CODE)
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
    birth_date: BirthDateInput | None = strawberry.field(
        default=strawberry.UNSET, description="New birth date; null removes it."
    )
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.input(description="What customers may change of their own profile.")
class UpdateMyProfileInput:
    """A customer's own profile update; omitted fields keep their value."""

    birth_date: BirthDateInput | None = strawberry.field(
        default=strawberry.UNSET, description="New birth date; null removes it."
    )
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY)


@strawberry.input(description="Whose enrolment changes.")
class EnrollmentInput:
    """A customer joining or leaving the program."""

    customer_id: strawberry.ID | None = strawberry.field(
        default=None, description="Global ID of the customer; omit with a customer token."
    )
    referral_code: str | None = strawberry.field(
        default=None, description=f"enrollCustomer only. {REFERRAL_CODE}"
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
        description="Register a shop customer; idempotent on (site, externalId). With a "
        "friend's referralCode, linked to that friend (the referrer) in the same transaction.",
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
            birth_date=input.birth_date.to_domain() if input.birth_date else None,
        )
        row = await referrals.register_customer(
            ctx.db,
            site_id=site_pk,
            profile=profile,
            enroll=input.enroll,
            referral_code=input.referral_code,
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
        if changes.get("birth_date") is not None:
            changes["birth_date"] = changes["birth_date"].to_domain()
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
        description="Change the signed-in customer's own profile (their birth date).",
        permission_classes=[IsCustomer],
    )
    async def update_my_profile(
        self,
        info: AppInfo,
        input: Annotated[UpdateMyProfileInput, strawberry.argument(description=INPUT)],
    ) -> CustomerPayload:
        """A customer updates their profile."""
        ctx = info.context
        changes = CustomerChanges()
        if input.birth_date is not strawberry.UNSET:
            birth = input.birth_date
            changes = CustomerChanges(birth_date=birth.to_domain() if birth else None)
        row = await service.update_customer(
            ctx.db,
            customer_id=await visible_customer(info, None),
            changes=changes,
            actor=ctx.actor,
            clock=ctx.clock,
            retry=retry_of(info, input.idempotency_key),
        )
        return _customer_payload(row)

    @strawberry.mutation(
        description="Enrol a customer in the program (staff, or the customer themselves); "
        "with a friend's referralCode, linked to that friend.",
        permission_classes=[IsStaffOrCustomer],
    )
    async def enroll_customer(
        self,
        info: AppInfo,
        input: Annotated[EnrollmentInput, strawberry.argument(description=INPUT)],
    ) -> CustomerPayload:
        """Enrol a customer."""
        ctx = info.context
        row = await referrals.enroll_customer(
            ctx.db,
            customer_id=await visible_customer(info, input.customer_id),
            referral_code=input.referral_code,
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
        if input.referral_code is not None:
            raise DomainError.single(
                ErrorCode.INVALID_VALUE, "a referral code is for enrolling", "referralCode"
            )
        row = await service.leave_program(
            ctx.db,
            customer_id=await visible_customer(info, input.customer_id),
            actor=ctx.actor,
            clock=ctx.clock,
            retry=retry_of(info, input.idempotency_key),
        )
        return _customer_payload(row)
