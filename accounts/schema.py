"""OpenAPI description of the project's JWT authentication (a subclass simplejwt's extension does not match), and
of a new password's rules."""

from django.contrib.auth import password_validation
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.extensions import OpenApiSerializerFieldExtension


class ActiveUserJWTScheme(SimpleJWTScheme):
    """Bearer JWT, as for simplejwt's own class."""

    target_class = "accounts.authentication.ActiveUserJWTAuthentication"


class NewPasswordSchema(OpenApiSerializerFieldExtension):
    """A new password's schema: its `min_length` (read from `AUTH_PASSWORD_VALIDATORS` by the field) and, when
    `NumericPasswordValidator` is on, "not only digits".

    The other validators (too similar to the username or e-mail, too common) depend on the user or on a word list:
    JSON Schema cannot say them (docs/DECISIONS.md, "What the schema cannot say").
    """

    target_class = "accounts.serializers.NewPasswordField"

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        for validator in password_validation.get_default_password_validators():
            if isinstance(validator, password_validation.NumericPasswordValidator):
                # At least one character that is not a digit; and, like every DRF text field, no NUL.
                schema["pattern"] = r"^[^\u0000]*[^\d\u0000][^\u0000]*$"
        return schema
