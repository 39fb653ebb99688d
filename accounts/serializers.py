"""Input validation and output shapes for the accounts API."""

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.decisions import Decision
from core.identity import check_identifier, identity_key
from core.serializers import ID_SCHEMA, StrictSerializer

from .images import InvalidImage, sanitize_image
from .models import AuditEvent, ManagerPromotionRequest, User
from .selectors import users_visible_to
from .services.passwords import user_for_reset_token


class UserSerializer(serializers.ModelSerializer):
    """`{id, username, email, first_name, last_name, role, status, warehouse, date_joined}`."""

    role = serializers.SlugRelatedField(slug_field="name", read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "email", "first_name", "last_name", "role", "status", "warehouse", "date_joined"]
        read_only_fields = fields


class LoginSerializer(StrictSerializer):
    """Username (case-insensitive) and password."""

    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False, style={"input_type": "password"})


class TokenPairSerializer(serializers.Serializer):
    """A login answer: tokens and the user."""

    access = serializers.CharField()
    refresh = serializers.CharField()
    user = UserSerializer()


class RefreshSerializer(StrictSerializer):
    """A refresh token to rotate or blacklist."""

    refresh = serializers.CharField(max_length=4096)


class TokensSerializer(serializers.Serializer):
    """A rotated token pair."""

    access = serializers.CharField()
    refresh = serializers.CharField()


def _validated_password(password: str, user: User, field: str = "new_password") -> str:
    """`password` if Django's validators accept it for `user`; a field error otherwise."""
    try:
        password_validation.validate_password(password, user=user)
    except DjangoValidationError as exc:
        raise serializers.ValidationError({field: list(exc.messages)}) from exc
    return password


def _password_field(**kwargs) -> serializers.CharField:
    return serializers.CharField(max_length=128, write_only=True, trim_whitespace=False,
                                 style={"input_type": "password"}, **kwargs)


def _minimum_password_length() -> int | None:
    lengths = [validator.min_length for validator in password_validation.get_default_password_validators()
               if isinstance(validator, password_validation.MinimumLengthValidator)]
    return max(lengths, default=None)


class NewPasswordField(serializers.CharField):
    """A password being set: checked by Django's password validators in the serializer's `validate` (which knows
    the user). The minimum length of `AUTH_PASSWORD_VALIDATORS` is also this field's `min_length`, so the schema
    states it (`minLength`); `accounts.schema.NewPasswordSchema` adds "not only digits"."""

    default_error_messages = {
        "min_length": "This password is too short. It must contain at least {min_length} characters.",
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 128)
        kwargs.setdefault("min_length", _minimum_password_length())
        super().__init__(write_only=True, trim_whitespace=False, style={"input_type": "password"}, **kwargs)


class PasswordChangeSerializer(StrictSerializer):
    """`{old_password, new_password}`: the current password, and a new one the validators accept."""

    old_password = _password_field()
    new_password = NewPasswordField()

    def validate_old_password(self, value):
        if not self.context["request"].user.check_password(value):
            raise serializers.ValidationError("The current password is wrong.")
        return value

    def validate(self, attrs):
        _validated_password(attrs["new_password"], self.context["request"].user)
        return attrs


class PasswordResetSerializer(StrictSerializer):
    """`{email}`: where to send a reset link, if it belongs to an active account."""

    email = serializers.EmailField(max_length=254)


class PasswordResetConfirmSerializer(StrictSerializer):
    """`{uid, token, new_password}` from a reset link; a bad or used link is a 400 `invalid_token`."""

    uid = serializers.CharField(max_length=64)
    token = serializers.CharField(max_length=128)
    new_password = NewPasswordField()

    def validate(self, attrs):
        user = user_for_reset_token(attrs["uid"], attrs["token"])
        _validated_password(attrs["new_password"], user)
        return attrs


class DetailSerializer(serializers.Serializer):
    """`{detail}`: a human-readable message."""

    detail = serializers.CharField()


class ProfileSerializer(serializers.Serializer):
    """Own user plus profile: `{id, username, …, phone, bio, image}` (image is an absolute URL or null)."""

    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.EmailField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    role = serializers.CharField(source="role.name")
    status = serializers.CharField()
    warehouse = serializers.IntegerField(source="warehouse_id", allow_null=True)
    date_joined = serializers.DateTimeField()
    phone = serializers.SerializerMethodField()
    bio = serializers.SerializerMethodField()
    image = serializers.SerializerMethodField()

    def _profile(self, user):
        return getattr(user, "profile", None)  # RelatedObjectDoesNotExist is an AttributeError

    def get_phone(self, user) -> str:
        profile = self._profile(user)
        return profile.phone if profile else ""

    def get_bio(self, user) -> str:
        profile = self._profile(user)
        return profile.bio if profile else ""

    def get_image(self, user) -> str | None:
        profile = self._profile(user)
        if not profile or not profile.image:
            return None
        request = self.context.get("request")
        url = profile.image.url
        return request.build_absolute_uri(url) if request else url


class ProfileUpdateSerializer(StrictSerializer):
    """Writable profile fields; the image is validated and re-encoded here (SPEC §3)."""

    first_name = serializers.CharField(max_length=150, allow_blank=True, required=False)
    last_name = serializers.CharField(max_length=150, allow_blank=True, required=False)
    email = serializers.EmailField(max_length=254, required=False)
    phone = serializers.RegexField(r"^[0-9+()\-. ]*$", max_length=32, allow_blank=True, required=False)
    bio = serializers.CharField(max_length=2000, allow_blank=True, required=False)
    image = serializers.FileField(required=False, allow_null=True, allow_empty_file=False, max_length=255)
    current_password = _password_field(required=False, allow_blank=True,
                                       help_text="Required when `email` changes: the caller's current password.")

    def validate(self, attrs):
        user = self.context["request"].user
        if "email" in attrs and attrs["email"] != user.email:
            password = attrs.get("current_password")
            if not password:
                raise serializers.ValidationError({"current_password": ["Required to change the e-mail address."]})
            if not user.check_password(password):
                raise serializers.ValidationError({"current_password": ["The current password is wrong."]})
        return attrs

    def validate_email(self, value):
        check_identifier(value)
        user = self.context["request"].user
        if User.objects.filter(email_key=identity_key(value)).exclude(pk=user.pk).exists():
            raise serializers.ValidationError("A user with this e-mail already exists.")
        return value

    def validate_image(self, value):
        if value is None:
            return None
        try:
            return sanitize_image(value)
        except InvalidImage as exc:
            raise serializers.ValidationError(str(exc)) from exc


@extend_schema_field(ID_SCHEMA)  # get_queryset() is per call: no queryset to read the key from
class ScopedUserField(serializers.PrimaryKeyRelatedField):
    """A user id the requester may see; anything else is "does not exist" (ids do not leak)."""

    def get_queryset(self):
        return users_visible_to(self.context["request"].user)


class RegistrationDecisionSerializer(StrictSerializer):
    """`{user, decision, reason?}` on a pending registration."""

    user = ScopedUserField()
    decision = serializers.ChoiceField(choices=Decision.choices)
    reason = serializers.CharField(max_length=2000, allow_blank=True, required=False, default="")


class DismissSerializer(StrictSerializer):
    """`{user, reason}`."""

    user = ScopedUserField()
    reason = serializers.CharField(max_length=2000)


class PromotionCreateSerializer(StrictSerializer):
    """`{user, reason}`: the staff member to promote."""

    user = ScopedUserField()
    reason = serializers.CharField(max_length=2000)


class PromotionRequestSerializer(serializers.ModelSerializer):
    """`{id, user, requested_by, reason, status, decided_by, decision_reason, created_at, decided_at}`."""

    class Meta:
        model = ManagerPromotionRequest
        fields = ["id", "user", "requested_by", "reason", "status", "decided_by", "decision_reason", "created_at",
                  "decided_at"]
        read_only_fields = fields


class PromotionDecisionSerializer(StrictSerializer):
    """`{id, decision, reason?}`."""

    id = serializers.PrimaryKeyRelatedField(queryset=ManagerPromotionRequest.objects.all())
    decision = serializers.ChoiceField(choices=Decision.choices)
    reason = serializers.CharField(max_length=2000, allow_blank=True, required=False, default="")


class AuditEventSerializer(serializers.ModelSerializer):
    """`{id, actor, action, target, data, ip, created_at}`."""

    class Meta:
        model = AuditEvent
        fields = ["id", "actor", "action", "target", "data", "ip", "created_at"]
        read_only_fields = fields
