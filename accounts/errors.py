"""Accounts' error codes and domain errors (auth, passwords, the lifecycle)."""

from core.errors import Code, Conflict, DomainError, register_codes

CODES = register_codes({
    "duplicate_account": Code(400, "the username or e-mail is taken"),
    "invalid_token": Code(400, "the password-reset link is malformed, expired or already used"),
    "invalid_credentials": Code(401, "wrong username or password"),
    "token_not_valid": Code(401, "the token is malformed, expired or blacklisted (400 on logout's body)"),
    "no_active_account": Code(401, "the refresh token's user is not active"),
    "user_inactive": Code(401, "the access token's user is not active"),
    "account_pending": Code(403, "the account awaits approval"),
    "account_rejected": Code(403, "the registration was rejected"),
    "account_dismissed": Code(403, "the account was dismissed"),
    "account_inactive": Code(403, "the account is not active"),
})


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


class NoActiveAccount(InvalidToken):
    """A valid refresh token whose user is no longer active."""

    code = "no_active_account"
    default_detail = "No active account found for the given token."


class InvalidTokenInBody(InvalidToken):
    """A bad refresh token sent to logout: the caller is authenticated, the body is wrong (400)."""

    status = 400


class NotActive(Conflict):
    """The user is not active, so the action cannot apply."""

    code = "not_active"
    default_detail = "This user is not active."


class InvalidResetToken(DomainError):
    """A password-reset link that is malformed, expired, already used or not for an active account."""

    code = "invalid_token"
    default_detail = "This password-reset link is invalid or has expired."


class WrongPassword(DomainError):
    """The current password given to a password change is wrong."""

    code = "invalid"
    default_detail = "The current password is wrong."
