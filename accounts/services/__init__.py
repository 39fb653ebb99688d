"""Account services: auth, passwords, profile, registration decisions, promotions. (The staffing changes
that also write warehouses, registering staff, dismissing, demoting, are `warehouses.staffing`.)

The public functions are re-exported here, so callers write `from accounts import services` and
`services.dismiss_user(...)`. Every write re-checks its `accounts.policies` predicate inside its
transaction; user rows are locked first (in pk order).
"""

from ..errors import (
    AccountNotActive,
    DuplicateAccount,
    InvalidCredentials,
    InvalidResetToken,
    InvalidToken,
    InvalidTokenInBody,
    NotActive,
    WrongPassword,
)
from .auth import blacklist_all_tokens, login_user, logout_user, rotate_refresh_token
from .passwords import change_password, request_password_reset, reset_password, user_for_reset_token
from .profile import update_profile
from .promotions import decide_promotion_request, request_staff_promotion
from .registrations import decide_registration

__all__ = [
    "AccountNotActive",
    "DuplicateAccount",
    "InvalidCredentials",
    "InvalidToken",
    "InvalidResetToken",
    "InvalidTokenInBody",
    "NotActive",
    "WrongPassword",
    "blacklist_all_tokens",
    "change_password",
    "decide_promotion_request",
    "decide_registration",
    "login_user",
    "logout_user",
    "request_password_reset",
    "request_staff_promotion",
    "reset_password",
    "rotate_refresh_token",
    "update_profile",
    "user_for_reset_token",
]
