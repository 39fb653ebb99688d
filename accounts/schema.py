"""OpenAPI description of the project's JWT authentication (a subclass simplejwt's extension does not match)."""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme


class ActiveUserJWTScheme(SimpleJWTScheme):
    """Bearer JWT, as for simplejwt's own class."""

    target_class = "accounts.authentication.ActiveUserJWTAuthentication"
