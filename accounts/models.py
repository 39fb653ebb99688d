"""Users, roles, profiles, the audit trail and manager promotion requests."""

import uuid
from pathlib import PurePosixPath

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from core.decisions import DecidedRequest, RequestStatus
from core.identity import IdentityKeysMixin, IdentityKeysQuerySet

from .roles import ROLE_DESCRIPTIONS, RoleName, UserStatus, is_admin, is_manager


class Role(models.Model):
    """One of the four fixed roles; rows are created by migration and `seed_roles`."""

    Name = RoleName

    name = models.CharField(max_length=20, unique=True, choices=Name.choices)
    description = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.name

    @classmethod
    def get(cls, name: str) -> "Role":
        """The role called `name`; the four roles are fixed data, so a missing one is recreated."""
        if name not in ROLE_DESCRIPTIONS:
            raise cls.DoesNotExist(f"no role {name!r}")
        role, _ = cls.objects.get_or_create(name=name, defaults={"description": ROLE_DESCRIPTIONS[name]})
        return role


class UserManager(DjangoUserManager.from_queryset(IdentityKeysQuerySet)):
    """Fills the role and status so `create_user`/`createsuperuser` always give a valid user."""

    def _create_user(self, username, email, password, **extra_fields):
        role = extra_fields.pop("role", None)
        if isinstance(role, str):
            role = Role.get(role)
        if role is None:
            role = Role.get(Role.Name.ADMIN if extra_fields.get("is_superuser") else Role.Name.VIEWER)
        extra_fields["role"] = role
        if extra_fields.get("is_superuser"):
            extra_fields.setdefault("status", User.Status.ACTIVE)
        return super()._create_user(username, email, password, **extra_fields)


class User(IdentityKeysMixin, AbstractUser):
    """An account: one role, a lifecycle status and (for staff) one warehouse."""

    Status = UserStatus

    role = models.ForeignKey(Role, on_delete=models.PROTECT, related_name="users")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    warehouse = models.ForeignKey(
        "warehouses.Warehouse", on_delete=models.PROTECT, null=True, blank=True, related_name="staff"
    )

    # core.identity.identity_key of username and email (NFKC + casefold), filled by save(): the unique keys.
    username_key = models.TextField(unique=True, editable=False)
    email_key = models.TextField(blank=True, default="", editable=False)

    IDENTITY_KEYS = {"username_key": "username", "email_key": "email"}

    objects = UserManager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(Lower("username"), name="user_username_ci_unique"),
            models.UniqueConstraint(
                Lower("email"), condition=~models.Q(email=""), name="user_email_ci_unique"
            ),
            models.UniqueConstraint(fields=["email_key"], condition=~models.Q(email_key=""),
                                    name="user_email_key_unique"),
        ]

    def save(self, *args, **kwargs):
        # `is_active` mirrors the lifecycle so Django's own auth (admin login) agrees with ours.
        self.is_active = self.status == self.Status.ACTIVE
        if "update_fields" in kwargs and kwargs["update_fields"] is not None:
            fields = set(kwargs["update_fields"])
            if "status" in fields:
                fields.add("is_active")
            kwargs["update_fields"] = fields
        super().save(*args, **kwargs)


def profile_image_path(instance, filename: str) -> str:
    """A random name: nothing of the uploaded file name reaches the file system."""
    suffix = PurePosixPath(filename).suffix.lower()
    return f"profiles/{uuid.uuid4().hex}{suffix}"


class UserProfile(models.Model):
    """Contact details and picture; one per user."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    phone = models.CharField(max_length=32, blank=True)
    bio = models.TextField(max_length=2000, blank=True)
    image = models.ImageField(upload_to=profile_image_path, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"profile of {self.user_id}"


class AuditEvent(models.Model):
    """An append-only record of one state-changing action."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=64, db_index=True)
    target = models.CharField(max_length=128, blank=True, help_text='"type:id", e.g. "user:12"')
    data = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["actor", "-created_at"], name="audit_actor_created")]

    def __str__(self):
        return f"{self.action} {self.target}"


class PromotionRequestQuerySet(models.QuerySet):
    """Scoping for promotion requests."""

    def for_user(self, user) -> "PromotionRequestQuerySet":
        """Admin all; a manager the requests they made; nobody else any."""
        if is_admin(user):
            return self.all()
        if is_manager(user):
            return self.filter(requested_by_id=user.pk)
        return self.none()


class ManagerPromotionRequest(DecidedRequest):
    """A request to promote a staff member to manager; decided by an admin."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    objects = PromotionRequestQuerySet.as_manager()

    class Meta(DecidedRequest.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(status=RequestStatus.PENDING), name="promotion_one_pending_per_user"
            )
        ]

    def __str__(self):
        return f"promotion #{self.pk} of {self.user_id} ({self.status})"
