"""Account services: registration, login and tokens, profile, and the staff lifecycle."""

from django.contrib.auth.models import update_last_login
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from core.errors import Conflict, DomainError, NotPending, PermissionDenied
from warehouses.models import Warehouse

from .audit import record_event
from .images import sanitize_image
from .models import Role, User, UserProfile

# A password hash computed once, so a login for an unknown user costs as much as a real check.
_DUMMY_USER = User(username="__timing__")


class DuplicateAccount(DomainError):
    code = "duplicate_account"
    default_detail = "A user with this username or e-mail already exists."


class InvalidCredentials(DomainError):
    code = "invalid_credentials"
    default_detail = "Invalid username or password."


class AccountNotActive(DomainError):
    code = "account_inactive"
    default_detail = "This account is not active."


class InvalidToken(DomainError):
    code = "token_not_valid"
    default_detail = "Token is invalid or expired."


class InvalidTokenInBody(InvalidToken):
    """A bad refresh token sent to logout: the caller is authenticated, the body is wrong (400)."""

    status = 400


class NotActive(Conflict):
    code = "not_active"
    default_detail = "This user is not active."


class NotEligible(DomainError):
    code = "not_eligible"
    default_detail = "This user cannot take part in this action."


_INACTIVE_CODES = {
    User.Status.PENDING: ("account_pending", "This account is awaiting approval."),
    User.Status.REJECTED: ("account_rejected", "This registration was rejected."),
    User.Status.DISMISSED: ("account_dismissed", "This account has been dismissed."),
}


def _lock_user(pk: int) -> User:
    return User.objects.select_for_update(of=("self",)).select_related("role", "warehouse").get(pk=pk)


@transaction.atomic
def register_user(*, username: str, email: str, password: str, role: str, warehouse: Warehouse | None = None,
                  ip: str | None = None) -> User:
    """Create a pending viewer or staff account and its profile.

    Raises DuplicateAccount (400) when the username or e-mail is taken (case-insensitive), including
    when a concurrent registration wins the race on the database's unique constraints.
    """
    if User.objects.filter(username__iexact=username).exists():
        raise DuplicateAccount("A user with this username already exists.")
    if email and User.objects.filter(email__iexact=email).exists():
        raise DuplicateAccount("A user with this e-mail already exists.")
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                username=username, email=email, password=password, role=Role.get(role),
                warehouse=warehouse if role == Role.Name.STAFF else None, status=User.Status.PENDING,
            )
    except IntegrityError as exc:
        raise DuplicateAccount() from exc
    UserProfile.objects.create(user=user)
    record_event(actor=user, action="user.register", target=user,
                 data={"role": role, "warehouse": user.warehouse_id}, ip=ip)
    return user


@transaction.atomic
def login_user(*, username: str, password: str, ip: str | None = None) -> tuple[User, RefreshToken]:
    """Check credentials and issue a token pair.

    Raises InvalidCredentials (401) for an unknown user or a wrong password (the hasher runs either
    way), AccountNotActive (403, `account_pending|rejected|dismissed`) for a right password on an
    account that may not log in.
    """
    user = User.objects.select_related("role").filter(username__iexact=username).first()
    if user is None:
        _DUMMY_USER.set_password(password)  # same cost as a real check; result ignored
        raise InvalidCredentials()
    if not user.check_password(password):
        raise InvalidCredentials()
    if user.status != User.Status.ACTIVE:
        code, detail = _INACTIVE_CODES.get(user.status, ("account_inactive", "This account is not active."))
        raise AccountNotActive(detail, code=code)
    refresh = RefreshToken.for_user(user)
    update_last_login(None, user)
    record_event(actor=user, action="user.login", target=user, ip=ip)
    return user, refresh


@transaction.atomic
def rotate_refresh_token(*, token: str) -> dict:
    """Exchange a refresh token for a new pair; the old one is blacklisted.

    Locks the token's OutstandingToken row so two concurrent uses of one token cannot both succeed.
    Raises InvalidToken (401) for a malformed, expired or blacklisted token, or an inactive user.
    """
    try:
        refresh = RefreshToken(token, verify=True)
    except TokenError as exc:
        raise InvalidToken(str(exc)) from exc
    jti = refresh.payload.get(jwt_settings.JTI_CLAIM)
    outstanding = OutstandingToken.objects.select_for_update(of=("self",)).filter(jti=jti).order_by("pk").first()
    if outstanding is None or BlacklistedToken.objects.filter(token=outstanding).exists():
        raise InvalidToken("Token is blacklisted.")
    user = User.objects.filter(pk=refresh.payload.get(jwt_settings.USER_ID_CLAIM)).first()
    if user is None or user.status != User.Status.ACTIVE or outstanding.user_id != user.pk:
        raise InvalidToken("No active account found for the given token.", code="no_active_account")
    BlacklistedToken.objects.create(token=outstanding)
    new_refresh = RefreshToken.for_user(user)
    return {"access": str(new_refresh.access_token), "refresh": str(new_refresh)}


@transaction.atomic
def logout_user(*, user: User, token: str, ip: str | None = None) -> None:
    """Blacklist one of the user's own refresh tokens.

    Raises DomainError `token_not_valid` (400) for a malformed or expired token and PermissionDenied
    (403) for a token that belongs to another user (it is left untouched).
    """
    try:
        refresh = RefreshToken(token, verify=True)
    except TokenError as exc:
        raise InvalidTokenInBody(str(exc)) from exc
    if str(refresh.payload.get(jwt_settings.USER_ID_CLAIM)) != str(user.pk):
        raise PermissionDenied("This refresh token belongs to another user.")
    jti = refresh.payload.get(jwt_settings.JTI_CLAIM)
    outstanding = OutstandingToken.objects.select_for_update(of=("self",)).filter(jti=jti).order_by("pk").first()
    if outstanding is None:
        raise InvalidTokenInBody("Unknown token.")
    BlacklistedToken.objects.get_or_create(token=outstanding)
    record_event(actor=user, action="user.logout", target=user, ip=ip)


def blacklist_all_tokens(*, user: User) -> int:
    """Blacklist every outstanding refresh token of a user; returns how many were added."""
    pending = OutstandingToken.objects.filter(user=user).exclude(blacklistedtoken__isnull=False)
    rows = [BlacklistedToken(token=t) for t in pending]
    BlacklistedToken.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


@transaction.atomic
def update_profile(*, user: User, data: dict, ip: str | None = None) -> User:
    """Update the user's own name, e-mail, phone, bio and image (sanitized, old file removed after commit).

    `image` may be an upload (sanitized here) or the output of images.sanitize_image; None removes it.
    Raises DuplicateAccount (400) when the e-mail belongs to someone else and images.InvalidImage for
    an unacceptable image (the serializer validates first, so the API answers 400 before this).
    """
    user = _lock_user(user.pk)
    profile, _ = UserProfile.objects.get_or_create(user=user)
    changed = []
    for field in ("first_name", "last_name", "email"):
        if field in data and getattr(user, field) != data[field]:
            setattr(user, field, data[field])
            changed.append(field)
    if "email" in changed and user.email and User.objects.filter(email__iexact=user.email).exclude(pk=user.pk).exists():
        raise DuplicateAccount("A user with this e-mail already exists.")
    if changed:
        try:
            with transaction.atomic():
                user.save(update_fields=changed)
        except IntegrityError as exc:
            raise DuplicateAccount("A user with this e-mail already exists.") from exc
    profile_changed = []
    for field in ("phone", "bio"):
        if field in data and getattr(profile, field) != data[field]:
            setattr(profile, field, data[field])
            profile_changed.append(field)
    if "image" in data:
        old_name = profile.image.name if profile.image else ""
        storage = profile.image.storage
        if data["image"] is None:
            profile.image = ""
        else:
            clean = data["image"] if getattr(data["image"], "sanitized", False) else sanitize_image(data["image"])
            profile.image.save(clean.name, clean, save=False)
        profile_changed.append("image")
        if old_name:
            transaction.on_commit(lambda: storage.delete(old_name))
    if profile_changed:
        profile.save(update_fields=[*profile_changed, "updated_at"])
    if changed or profile_changed:
        record_event(actor=user, action="user.profile_update", target=user, data={"fields": changed + profile_changed},
                     ip=ip)
    return user


def _ensure_can_decide_registration(actor: User, target: User) -> None:
    if actor.is_admin:
        return
    if actor.is_manager:
        if target.is_viewer:
            return
        if target.is_staff_member and target.warehouse_id and target.warehouse.manager_id == actor.pk:
            return
    raise PermissionDenied("You may not decide this registration.")


@transaction.atomic
def decide_registration(*, actor: User, user: User, decision: str, reason: str = "", ip: str | None = None) -> User:
    """Approve (→ active) or reject (→ rejected) a pending registration.

    Locks the user row. Raises PermissionDenied (403) unless the actor is an admin, the manager of the
    requested warehouse (staff) or any manager (viewers); NotPending (409) when already decided.
    """
    target = _lock_user(user.pk)
    _ensure_can_decide_registration(actor, target)
    if target.status != User.Status.PENDING:
        raise NotPending("This registration has already been decided.")
    target.status = User.Status.ACTIVE if decision == "approve" else User.Status.REJECTED
    target.save(update_fields=["status"])
    record_event(actor=actor, action=f"user.{decision}", target=target,
                 data={"reason": reason, "role": target.role_name, "warehouse": target.warehouse_id}, ip=ip)
    return target


@transaction.atomic
def dismiss_user(*, actor: User, user: User, reason: str, ip: str | None = None) -> User:
    """Dismiss an active user: status dismissed, every refresh token blacklisted, history kept.

    Locks the user row. A dismissed manager's warehouses become unmanaged. Raises PermissionDenied
    (403) for an admin target or a target outside the actor's authority, NotActive (409) when the
    user is not active.
    """
    target = _lock_user(user.pk)
    if target.is_admin or target.pk == actor.pk:
        raise PermissionDenied("Admins cannot be dismissed." if target.is_admin else "You cannot dismiss yourself.")
    allowed = actor.is_admin or (
        actor.is_manager and target.is_staff_member and target.warehouse_id is not None
        and target.warehouse.manager_id == actor.pk
    )
    if not allowed:
        raise PermissionDenied("You may not dismiss this user.")
    if target.status != User.Status.ACTIVE:
        raise NotActive("Only an active user can be dismissed.")
    unmanaged = []
    if target.is_manager:
        unmanaged = list(Warehouse.objects.select_for_update().filter(manager=target).values_list("pk", flat=True))
        Warehouse.objects.filter(pk__in=unmanaged).update(manager=None, updated_at=timezone.now())
    target.status = User.Status.DISMISSED
    target.save(update_fields=["status"])
    revoked = blacklist_all_tokens(user=target)
    record_event(actor=actor, action="user.dismiss", target=target,
                 data={"reason": reason, "role": target.role_name, "unmanaged_warehouses": unmanaged,
                       "revoked_tokens": revoked}, ip=ip)
    return target


@transaction.atomic
def record_admin_user_change(*, actor: User, user: User, fields: list[str], created: bool,
                             ip: str | None = None) -> None:
    """Audit a user added or changed in the Django admin, with the API's side effects of the change.

    Call it after the user row is saved. A user who is no longer an active manager stops managing
    warehouses (they become unmanaged); a dismissed user's refresh tokens are all blacklisted.
    """
    unmanaged = []
    if not (user.is_manager and user.status == User.Status.ACTIVE):
        unmanaged = list(Warehouse.objects.select_for_update().filter(manager=user).order_by("pk")
                         .values_list("pk", flat=True))
        Warehouse.objects.filter(pk__in=unmanaged).update(manager=None, updated_at=timezone.now())
    revoked = blacklist_all_tokens(user=user) if user.status == User.Status.DISMISSED else 0
    record_event(actor=actor, action="user.admin_create" if created else "user.admin_change", target=user, ip=ip,
                 data={"fields": sorted(fields), "role": user.role_name, "status": user.status,
                       "warehouse": user.warehouse_id, "unmanaged_warehouses": unmanaged, "revoked_tokens": revoked})


@transaction.atomic
def demote_manager(*, actor: User, user: User, reason: str, warehouse: Warehouse | None = None,
                   reassign_to: User | None = None, ip: str | None = None) -> User:
    """Turn a manager into staff of `warehouse` (default: the warehouse they last belonged to).

    Locks the manager's row, the new manager's row and the warehouses they managed. Their warehouses
    move to `reassign_to` or become unmanaged. Raises PermissionDenied (403) unless the actor is an
    admin, NotEligible (400) when the user is not an active manager, `reassign_to` is not another
    active manager, or no active warehouse is known.
    """
    if not actor.is_admin:
        raise PermissionDenied("Only an admin may demote a manager.")
    ids = {user.pk} | ({reassign_to.pk} if reassign_to else set())
    rows = (User.objects.select_for_update(of=("self",)).select_related("role", "warehouse")
            .filter(pk__in=ids).order_by("pk"))
    locked = {u.pk: u for u in rows}
    target = locked[user.pk]
    if not target.is_manager or target.status != User.Status.ACTIVE:
        raise NotEligible("Only an active manager can be demoted.")
    new_manager = locked.get(reassign_to.pk) if reassign_to else None
    if reassign_to is not None:
        if new_manager.pk == target.pk or not new_manager.is_manager or new_manager.status != User.Status.ACTIVE:
            raise NotEligible("reassign_to must be another active manager.", code="invalid_reassign_to")
    destination = warehouse or target.warehouse
    if destination is None:
        raise NotEligible("This manager has no previous warehouse; give one in `warehouse`.",
                          code="warehouse_required")
    if not destination.is_active:
        raise NotEligible("The warehouse must be active.", code="warehouse_inactive")
    managed = Warehouse.objects.select_for_update().filter(manager=target).order_by("pk")
    moved = list(managed.values_list("pk", flat=True))
    Warehouse.objects.filter(pk__in=moved).update(manager=new_manager, updated_at=timezone.now())
    target.role = Role.get(Role.Name.STAFF)
    target.warehouse = destination
    target.save(update_fields=["role", "warehouse"])
    record_event(actor=actor, action="user.demote", target=target,
                 data={"reason": reason, "warehouse": destination.pk, "warehouses_moved": moved,
                       "reassign_to": new_manager.pk if new_manager else None}, ip=ip)
    return target
