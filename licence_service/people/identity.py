"""Who a person is: unit, roles, and the label the operation log names them by."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from licence_service.domain.errors import InvalidInputError, ServiceError


class PersonRole(StrEnum):
    WINDOW_STAFF = "window_staff"
    ISSUER = "issuer"
    AGENCY_ADMIN = "agency_admin"
    AUDITOR = "auditor"
    REGION_ADMIN = "region_admin"
    SHARING_REVIEWER = "sharing_reviewer"  # reviews other regions' sharing requests


class UnitKind(StrEnum):
    AGENCY = "agency"
    REGION = "region"  # the region authority
    AUDIT = "audit"  # an audit office


# Which roles a person of each kind of unit may hold: agency work stays in agencies,
# governance with the region authority, audit with audit offices. A sharing reviewer sits in
# an agency (its own licences) or with the region authority (every licence of the region).
UNIT_ROLES: dict[UnitKind, frozenset[PersonRole]] = {
    UnitKind.AGENCY: frozenset(
        {
            PersonRole.WINDOW_STAFF,
            PersonRole.ISSUER,
            PersonRole.AGENCY_ADMIN,
            PersonRole.SHARING_REVIEWER,
        }
    ),
    UnitKind.REGION: frozenset({PersonRole.REGION_ADMIN, PersonRole.SHARING_REVIEWER}),
    UnitKind.AUDIT: frozenset({PersonRole.AUDITOR}),
}


class AuthenticationError(ServiceError):
    """No valid credential (missing, unknown, expired, revoked, or a disabled person)."""

    status_code = 401


class PermissionDeniedError(ServiceError):
    """A known person acting outside their roles, agency or region."""

    status_code = 403


class TooManyAttemptsError(ServiceError):
    status_code = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, field="username")
        self.retry_after = retry_after


@dataclass(frozen=True)
class PersonInfo:
    """A person as the rest of the service sees them (no secrets)."""

    username: str
    display_name: str
    unit_kind: UnitKind
    agency_code: str | None
    region_code: int
    roles: frozenset[PersonRole]
    disabled: bool = False

    @property
    def unit(self) -> str:
        """``agency:<code>``, ``region:<code>`` or ``audit:<code>``."""
        if self.unit_kind is UnitKind.AGENCY:
            return f"agency:{self.agency_code}"
        return f"{self.unit_kind.value}:{self.region_code}"

    @property
    def label(self) -> str:
        """How the operation log names the person: username and unit."""
        return f"{self.username}@{self.unit}"

    def to_json(self) -> dict[str, object]:
        return {
            "username": self.username,
            "display_name": self.display_name,
            "unit": self.unit,
            "unit_kind": self.unit_kind.value,
            "agency_code": self.agency_code,
            "region_code": self.region_code,
            "roles": sorted(r.value for r in self.roles),
            "disabled": self.disabled,
        }


def parse_roles(values: list[str] | tuple[str, ...]) -> frozenset[PersonRole]:
    """Role names to roles, or an error naming the unknown one."""
    roles: set[PersonRole] = set()
    for value in values:
        try:
            roles.add(PersonRole(value.strip()))
        except ValueError:
            known = ", ".join(r.value for r in PersonRole)
            raise InvalidInputError(
                f"unknown role {value!r} (one of {known})", field="roles"
            ) from None
    return frozenset(roles)
