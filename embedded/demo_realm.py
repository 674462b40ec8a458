"""The demo city's Keycloak realm, generated from OUR staff directory (`deploy/demo-city/staff.csv`).

We own the directory (who works here, their roles, department, crew and contact); the identity provider only
authenticates. So the realm is derived from the CSV rather than edited by hand in Keycloak, and the claims every
service reads from an access token are fixed here in one place:

| claim        | from                                  |
|--------------|---------------------------------------|
| `aud`        | contains `utility-services` (audience mapper) |
| `staff_id`   | the username, which is the directory's staff id |
| `name`       | the display name                      |
| `roles`      | flat list of realm roles (our staff roles) |
| `department` | user attribute, omitted when empty    |
| `crew`       | user attribute, omitted when empty    |

The same claims are in the ID token and at the userinfo endpoint. Stdlib only, like the rest of `embedded`.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO_STAFF = REPO_ROOT / "deploy" / "demo-city" / "staff.csv"

REALM = "utility"
#: The audience every service accepts (shared.http.person.DEFAULT_AUDIENCE).
AUDIENCE = "utility-services"
CONSOLE_CLIENT_ID = "console"
#: Public client with the password grant, only in the test suite's realm: tests fetch a person's token directly.
TEST_CLIENT_ID = "utility-tests"
#: The one password of every demo person. Demo only: a utility's own provider holds its staff's real ones.
DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - the published demo sign-in, printed by `make run`
ACCESS_TOKEN_LIFESPAN_S = 300
#: The file name Keycloak's `--import-realm` picks up from its import folder.
REALM_FILE = f"{REALM}-realm.json"

#: The staff roles (shared.http.person.STAFF_ROLES), as realm roles with what each one does.
ROLES: dict[str, str] = {
    "agent": "Takes complaints on the phone and at the counter; does the callbacks",
    "dispatcher": "Runs a department's queue: acknowledges, assigns crews, agrees appointments",
    "crew": "Works the jobs of a repair crew on site",
    "supervisor": "Triage, incidents, escalations and the contact-details access log",
    "duty_manager": "The manager on duty, called live to the counter",
    "department_manager": "Answers for a department's cases and escalations",
    "leadership": "Approves the analysis and corrective actions of serious cases",
    "hr_admin": "HR/administration: approves the analysis and corrective actions of serious cases, as leadership",
    "project_manager": "The project manager: told of serious cases and of customers still dissatisfied",
    "technical": "The technical department: told of serious cases' causes and corrective actions",
}
DEPARTMENTS = frozenset({"repair", "billing", "customer_service"})
COLUMNS = ("staff_id", "display_name", "display_name_en", "roles", "department", "crew", "contact")


@dataclass(frozen=True)
class StaffMember:
    """One person of the staff directory."""

    staff_id: str
    display_name: str
    display_name_en: str
    roles: tuple[str, ...]
    department: str | None
    crew: str | None
    contact: str | None

    @property
    def email(self) -> str | None:
        """The contact when it is an email address (the provider's `email`); other contacts stay ours."""
        return self.contact if self.contact and "@" in self.contact else None


class StaffDirectoryError(ValueError):
    """A row of the staff directory is not usable."""


def load_staff(path: Path = DEMO_STAFF) -> list[StaffMember]:
    """Read and check the directory CSV: known roles and departments, unique ids."""
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = set(COLUMNS) - set(reader.fieldnames or ())
        if missing:
            raise StaffDirectoryError(f"{path}: missing columns {sorted(missing)}")
        staff = [_member(row, path, line) for line, row in enumerate(reader, start=2)]
    seen: set[str] = set()
    for member in staff:
        if member.staff_id in seen:
            raise StaffDirectoryError(f"{path}: staff id {member.staff_id!r} appears twice")
        seen.add(member.staff_id)
    return staff


def _member(row: dict[str, str], path: Path, line: int) -> StaffMember:
    def cell(name: str) -> str:
        return (row.get(name) or "").strip()

    staff_id = cell("staff_id")
    # Keycloak keeps usernames in lower case: an id with capitals would come back changed in `staff_id`.
    if not staff_id or staff_id != staff_id.lower() or " " in staff_id:
        raise StaffDirectoryError(f"{path}:{line}: staff_id {staff_id!r} must be non-empty, lower case, no spaces")
    roles = tuple(r.strip() for r in cell("roles").split(";") if r.strip())
    unknown = [r for r in roles if r not in ROLES]
    if not roles or unknown:
        raise StaffDirectoryError(f"{path}:{line}: roles {cell('roles')!r}: each must be one of {sorted(ROLES)}")
    department = cell("department") or None
    if department is not None and department not in DEPARTMENTS:
        raise StaffDirectoryError(f"{path}:{line}: department {department!r} is not one of {sorted(DEPARTMENTS)}")
    return StaffMember(
        staff_id=staff_id,
        display_name=cell("display_name") or staff_id,
        display_name_en=cell("display_name_en") or cell("display_name") or staff_id,
        roles=roles,
        department=department,
        crew=cell("crew") or None,
        contact=cell("contact") or None,
    )


def _claim_config(claim: str, *, json_type: str = "String", id_token: bool = True) -> dict[str, str]:
    return {
        "claim.name": claim,
        "jsonType.label": json_type,
        "access.token.claim": "true",
        "id.token.claim": "true" if id_token else "false",
        "userinfo.token.claim": "true",
        "introspection.token.claim": "true",
    }


def protocol_mappers() -> list[dict[str, Any]]:
    """The mappers that put our claims into access tokens, ID tokens and userinfo (see the module's table)."""
    return [
        {
            "name": "audience utility-services",
            "protocol": "openid-connect",
            "protocolMapper": "oidc-audience-mapper",
            "config": {
                "included.custom.audience": AUDIENCE,
                "access.token.claim": "true",
                "id.token.claim": "false",
                "introspection.token.claim": "true",
            },
        },
        {
            "name": "staff_id",
            "protocol": "openid-connect",
            "protocolMapper": "oidc-usermodel-property-mapper",
            "config": {"user.attribute": "username", **_claim_config("staff_id")},
        },
        {
            "name": "name",
            "protocol": "openid-connect",
            "protocolMapper": "oidc-full-name-mapper",
            "config": {k: v for k, v in _claim_config("name").items() if k.endswith(".claim")},
        },
        {
            "name": "roles",
            "protocol": "openid-connect",
            "protocolMapper": "oidc-usermodel-realm-role-mapper",
            "config": {"multivalued": "true", **_claim_config("roles")},
        },
        *(
            {
                "name": attribute,
                "protocol": "openid-connect",
                "protocolMapper": "oidc-usermodel-attribute-mapper",
                "config": {"user.attribute": attribute, "aggregate.attrs": "false", **_claim_config(attribute)},
            }
            for attribute in ("department", "crew")
        ),
    ]


def _user_profile() -> dict[str, Any]:
    """Keycloak's declarative user profile: our attributes declared, nothing a person must fill in.

    Keycloak's default profile requires a last name, which Chinese display names in `firstName` do not have: it
    would stop every demo person at an "update your profile" form on their first sign-in. Only an administrator
    edits these fields, because the directory (not the person) is where they come from.
    """
    admin_only = {"view": ["admin", "user"], "edit": ["admin"]}

    def attribute(name: str, display: str, **extra: Any) -> dict[str, Any]:
        return {"name": name, "displayName": display, "permissions": admin_only, "multivalued": False, **extra}

    return {
        "attributes": [
            attribute(
                "username",
                "${username}",
                validations={
                    "length": {"min": 3, "max": 255},
                    "username-prohibited-characters": {},
                    "up-username-not-idn-homograph": {},
                },
            ),
            attribute("email", "${email}", validations={"email": {}, "length": {"max": 255}}),
            attribute("firstName", "${firstName}", validations={"length": {"max": 255}}),
            attribute("lastName", "${lastName}", validations={"length": {"max": 255}}),
            attribute("staff_id", "Staff id"),
            attribute("department", "Department"),
            attribute("crew", "Crew"),
            attribute("display_name_en", "Name (English)"),
        ],
        "groups": [],
    }


def _user(member: StaffMember, password: str) -> dict[str, Any]:
    attributes = {"staff_id": [member.staff_id], "display_name_en": [member.display_name_en]}
    if member.department:
        attributes["department"] = [member.department]
    if member.crew:
        attributes["crew"] = [member.crew]
    user: dict[str, Any] = {
        "username": member.staff_id,
        "enabled": True,
        "firstName": member.display_name,
        "attributes": attributes,
        "realmRoles": list(member.roles),
        "credentials": [{"type": "password", "value": password, "temporary": False}],
        "requiredActions": [],
    }
    if member.email:
        user["email"] = member.email
        user["emailVerified"] = True
    return user


def _console_client(secret: str) -> dict[str, Any]:
    return {
        "clientId": CONSOLE_CLIENT_ID,
        "name": "Staff console",
        "enabled": True,
        "protocol": "openid-connect",
        "publicClient": False,
        "clientAuthenticatorType": "client-secret",
        "secret": secret,
        # Authorization code with PKCE only: no implicit flow, no passwords through the console, no service account.
        "standardFlowEnabled": True,
        "implicitFlowEnabled": False,
        "directAccessGrantsEnabled": False,
        "serviceAccountsEnabled": False,
        "frontchannelLogout": True,
        # The console runs on whatever local port `make run` or a test gives it.
        "redirectUris": ["http://127.0.0.1*", "http://localhost*"],
        "webOrigins": ["+"],
        "attributes": {"pkce.code.challenge.method": "S256", "post.logout.redirect.uris": "+"},
        "protocolMappers": protocol_mappers(),
    }


def _test_client() -> dict[str, Any]:
    return {
        "clientId": TEST_CLIENT_ID,
        "name": "Test suite (password grant)",
        "enabled": True,
        "protocol": "openid-connect",
        "publicClient": True,
        "standardFlowEnabled": False,
        "implicitFlowEnabled": False,
        "directAccessGrantsEnabled": True,
        "serviceAccountsEnabled": False,
        "protocolMappers": protocol_mappers(),
    }


def generate_realm(
    staff: Iterable[StaffMember],
    *,
    console_secret: str,
    password: str = DEMO_PASSWORD,
    for_tests: bool = False,
) -> dict[str, Any]:
    """The `utility` realm as Keycloak's import JSON: our roles, one user per staff member, the console client.

    `for_tests` adds the `utility-tests` client with the password grant, which the demo and production realms
    never have (a person signs in at the provider's own page, not by handing a password to a program).
    """
    if not console_secret:
        raise ValueError("the console client needs a secret")
    clients = [_console_client(console_secret)]
    if for_tests:
        clients.append(_test_client())
    return {
        "realm": REALM,
        "displayName": "Utility complaints",
        "enabled": True,
        "sslRequired": "external",
        "accessTokenLifespan": ACCESS_TOKEN_LIFESPAN_S,
        "registrationAllowed": False,
        "resetPasswordAllowed": False,
        "rememberMe": False,
        "editUsernameAllowed": False,
        "internationalizationEnabled": True,
        "supportedLocales": ["zh-CN", "en"],
        "defaultLocale": "zh-CN",
        "roles": {"realm": [{"name": name, "description": text} for name, text in ROLES.items()]},
        "users": [_user(member, password) for member in staff],
        "clients": clients,
        "components": {
            "org.keycloak.userprofile.UserProfileProvider": [
                {
                    "providerId": "declarative-user-profile",
                    "subComponents": {},
                    "config": {"kc.user.profile.config": [json.dumps(_user_profile())]},
                }
            ]
        },
    }


def write_realm(directory: Path, realm: dict[str, Any]) -> Path:
    """Write the realm where `--import-realm` finds it; the file holds a secret, so only we may read it."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / REALM_FILE
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(realm, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.chmod(0o600)
    tmp.replace(path)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """Print the realm generated from a staff CSV (to look at, or to import into a utility's own Keycloak)."""
    parser = argparse.ArgumentParser(prog="python -m embedded.demo_realm", description=main.__doc__)
    parser.add_argument("--staff", type=Path, default=DEMO_STAFF, help="staff directory CSV")
    parser.add_argument("--console-secret", required=True, help="the console client's secret")
    parser.add_argument("--password", default=DEMO_PASSWORD, help="every person's password (demo only)")
    args = parser.parse_args(argv)
    try:
        staff = load_staff(args.staff)
    except (OSError, StaffDirectoryError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    realm = generate_realm(staff, console_secret=args.console_secret, password=args.password)
    print(json.dumps(realm, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
