"""Accounts' domain errors; their codes are registered in `core.errors.CODES` like every other."""

from core.errors import Conflict, DomainError


class DuplicateAccount(DomainError):
    """The username or e-mail is taken (case-insensitive)."""

    code = "duplicate_account"
    default_detail = "A user with this username or e-mail already exists."


class InvalidCredentials(DomainError):
    """Unknown user or wrong password (never says which)."""

    code = "invalid_credentials"
    default_detail = "Invalid username or password."


class AccountNotActive(DomainError):
    """Right credentials, but the account may not log in (pending, rejected, dismissed)."""

    code = "account_inactive"
    default_detail = "This account is not active."


class InvalidToken(DomainError):
    """A refresh token that is malformed, expired or blacklisted."""

    code = "token_not_valid"
    default_detail = "Token is invalid or expired."


class InvalidTokenInBody(InvalidToken):
    """A bad refresh token sent to logout: the caller is authenticated, the body is wrong (400)."""

    status = 400


class NotActive(Conflict):
    """The user is not active, so the action cannot apply."""

    code = "not_active"
    default_detail = "This user is not active."
