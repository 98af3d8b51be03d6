"""Permission checks attached to fields, and the markers for fields that need none.

Every field of the schema either carries a permission class from here, or is
marked PUBLIC (value types anyone may read: Money, PageInfo, UserError) or
WITHIN_PARENT (fields of a type that is only reachable through a checked
field). tests/api/test_permissions_cover_schema.py walks the schema to keep
it so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from strawberry.permission import BasePermission

if TYPE_CHECKING:
    from strawberry.types import Info

    from loyalty_gql.api.auth import Access

PUBLIC: dict[str, Any] = {"auth": "public"}
WITHIN_PARENT: dict[str, Any] = {"auth": "parent"}


def _access(info: Info[Any, Any]) -> Access:
    access: Access = info.context.access
    return access


class _RolePermission(BasePermission):
    roles: ClassVar[frozenset[str]] = frozenset()
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Info[Any, Any], **kwargs: Any) -> bool:
        return _access(info).role.value in self.roles


class Anyone(BasePermission):
    """Open to every caller, signed in or not; the resolver scopes what it returns."""

    message = "Not permitted."

    def has_permission(self, source: Any, info: Info[Any, Any], **kwargs: Any) -> bool:
        return True


class SignedIn(_RolePermission):
    """Any caller with a valid token."""

    message = "Sign in: send 'Authorization: Bearer <token>'."
    roles = frozenset({"customer", "service", "admin"})


class IsCustomer(_RolePermission):
    """Only a customer's own token."""

    message = "Only a customer token may do this."
    roles = frozenset({"customer"})


class IsAdmin(_RolePermission):
    """Only a site administrator."""

    message = "Only an admin token may do this."
    roles = frozenset({"admin"})


class IsStaff(_RolePermission):
    """A site administrator or the shop backend (service token)."""

    message = "Only an admin or service token may do this."
    roles = frozenset({"admin", "service"})


class IsStaffOrCustomer(_RolePermission):
    """Staff, or a customer acting on their own account."""

    message = "Sign in as the customer, the shop backend or an admin."
    roles = frozenset({"admin", "service", "customer"})


class CanSeeSite(BasePermission):
    """The caller belongs to the site this object is part of."""

    message = "Not permitted to see this site."
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Info[Any, Any], **kwargs: Any) -> bool:
        return _access(info).sees_site(source.site_pk)


class CanSeeCustomer(BasePermission):
    """The caller is the customer, or staff of the customer's site."""

    message = "Not permitted to see this customer."
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Info[Any, Any], **kwargs: Any) -> bool:
        return _access(info).sees_customer(source.site_pk, source.customer_pk)


class CanServeSite(BasePermission):
    """The caller is an admin or the shop backend of the object's site."""

    message = "Only the site's admins and shop backend may see this."
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Info[Any, Any], **kwargs: Any) -> bool:
        return _access(info).serves_site(source.site_pk)


class CanSeeOrder(BasePermission):
    """The caller is the order's customer, or staff of the order's site (a guest's order
    only staff)."""

    message = "Not permitted to see this order."
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Info[Any, Any], **kwargs: Any) -> bool:
        access = _access(info)
        if source.customer_pk is None:
            return access.serves_site(source.site_pk)
        return access.sees_customer(source.site_pk, source.customer_pk)
