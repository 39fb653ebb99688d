"""Account services (the only code that changes users): auth, passwords, profile, the staff lifecycle,
promotions.

The public functions are re-exported here, so callers write `from accounts import services` and
`services.dismiss_user(...)`. Every write re-checks its `accounts.policies` predicate inside its
transaction; locks are taken user rows first (in pk order), then warehouses (in pk order).
"""

from ..errors import (
    AccountNotActive,
    DuplicateAccount,
    InvalidCredentials,
    InvalidToken,
    InvalidTokenInBody,
    NotActive,
)
from .auth import blacklist_all_tokens, login_user, logout_user, register_user, rotate_refresh_token
from .lifecycle import decide_registration, demote_manager, dismiss_user, record_admin_user_change
from .passwords import (
    InvalidResetToken,
    WrongPassword,
    change_password,
    request_password_reset,
    reset_password,
    user_for_reset_token,
)
from .profile import update_profile
from .promotions import decide_promotion_request, request_staff_promotion

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
    "demote_manager",
    "dismiss_user",
    "login_user",
    "logout_user",
    "record_admin_user_change",
    "register_user",
    "request_password_reset",
    "request_staff_promotion",
    "reset_password",
    "rotate_refresh_token",
    "update_profile",
    "user_for_reset_token",
]
