"""Validated input for accounts, logins and tokens, shared by the CLI and the web API."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from vp_monitor.accounts.principal import Role
from vp_monitor.redaction import FieldsError
from vp_monitor.registry.schemas import Insee, _blank_to_none
from vp_monitor.texts import InvalidValue

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MIN_PASSWORD_LENGTH = 12
# Longer passwords are refused before hashing: argon2 on megabytes would be a cheap attack.
MAX_PASSWORD_LENGTH = 1024


def _name(value: str) -> str:
    if not NAME.match(value):
        raise InvalidValue("value.account_name")
    return value


AccountName = Annotated[str, AfterValidator(_name)]
TokenName = Annotated[str, Field(min_length=1, max_length=64)]
# The length rule is the service's (check_password): said once, for the CLI and the web.
Password = Annotated[str, Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)]
Maintainer = Annotated[
    Annotated[str, Field(max_length=120)] | None, BeforeValidator(_blank_to_none)
]
Municipalities = Annotated[list[Insee], Field(max_length=100)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AccountInput(Input):
    """An account as written: its role decides which scope it takes (municipalities: at least
    one INSEE code; maintainer: one company; the supervision roles: neither)."""

    name: AccountName
    role: Role
    municipalities: Municipalities = Field(default_factory=list)
    maintainer: Maintainer = None
    language: Literal["fr", "en"] = "fr"
    enabled: bool = True

    @model_validator(mode="after")
    def _scope_fits_role(self):
        self.municipalities = sorted(set(self.municipalities))
        if self.role == "municipality" and not self.municipalities:
            raise FieldsError("municipalities", "value.municipality_needed")
        if self.role != "municipality" and self.municipalities:
            raise FieldsError("municipalities", "value.municipalities_not_for", role=self.role)
        if self.role == "maintainer" and not self.maintainer:
            raise FieldsError("maintainer", "value.maintainer_needed")
        if self.role != "maintainer" and self.maintainer:
            raise FieldsError("maintainer", "value.maintainer_not_for", role=self.role)
        return self


class NewAccount(AccountInput):
    """An account and its first password, as the web API receives them."""

    password: Password


class AccountUpdate(Input):
    """The changes to an account: the fields given (None keeps what is stored). A new role
    drops the scope fields it does not take unless they are given too."""

    role: Role | None = None
    municipalities: Municipalities | None = None
    maintainer: Maintainer = None
    language: Literal["fr", "en"] | None = None
    enabled: bool | None = None


class PasswordInput(Input):
    """A new password for an account."""

    password: Password


class LoginInput(Input):
    """What a login form or JSON body sends."""

    name: Annotated[str, Field(min_length=1, max_length=64)]
    password: Password


class TokenInput(Input):
    """A new API token: whose, its label, and optionally the day it stops working."""

    user: Annotated[str, Field(min_length=1, max_length=64)]
    name: TokenName
    expires_on: date | None = None
