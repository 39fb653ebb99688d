"""Accounts API: auth, profile, users, registration decisions, promotions, audit events (registering,
dismissing and demoting staff: `warehouses.views`)."""

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.filters import SearchFilter
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core.http import client_ip
from core.idempotency import idempotent
from core.parsers import JSONParser, MultiPartParser
from core.throttling import AuthThrottle, ResetEmailThrottle, UsernameThrottle

from . import services
from .filters import AuditEventFilter, UserFilter
from .models import User
from .permissions import (
    CanChangeOwnPassword,
    CanDecidePromotions,
    CanDecideRegistration,
    CanManageUsers,
    CanReadAuditTrail,
    CanRequestPromotions,
)
from .selectors import audit_events_visible_to, promotion_requests_visible_to, users_visible_to
from .serializers import (
    AuditEventSerializer,
    DetailSerializer,
    LoginSerializer,
    PasswordChangeSerializer,
    PasswordResetConfirmSerializer,
    PasswordResetSerializer,
    ProfileSerializer,
    ProfileUpdateSerializer,
    PromotionCreateSerializer,
    PromotionDecisionSerializer,
    PromotionRequestSerializer,
    RefreshSerializer,
    RegistrationDecisionSerializer,
    TokenPairSerializer,
    TokensSerializer,
    UserSerializer,
)

ERROR = OpenApiResponse(description='`{"detail", "code"}`')


class AnonymousAuthView(APIView):
    """Base for register, login and refresh: no authentication, throttled per IP."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [AuthThrottle]
    throttle_scope = "auth"


class LoginView(AnonymousAuthView):
    """Exchange credentials for a token pair (throttled per IP and per username)."""

    throttle_classes = [AuthThrottle, UsernameThrottle]

    @extend_schema(request=LoginSerializer, responses={200: TokenPairSerializer, 401: ERROR, 403: ERROR, 429: ERROR})
    def post(self, request):
        serializer = LoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user, refresh = services.login_user(**serializer.validated_data, ip=client_ip(request))
        return Response({"access": str(refresh.access_token), "refresh": str(refresh),
                         "user": UserSerializer(user).data})


class RefreshView(AnonymousAuthView):
    """Rotate a refresh token; the old one is blacklisted."""

    @extend_schema(request=RefreshSerializer, responses={200: TokensSerializer, 401: ERROR, 429: ERROR})
    def post(self, request):
        serializer = RefreshSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(services.rotate_refresh_token(token=serializer.validated_data["refresh"]))


class LogoutView(APIView):
    """Blacklist one of the caller's refresh tokens."""

    @extend_schema(request=RefreshSerializer, responses={204: None, 400: ERROR, 403: ERROR})
    def post(self, request):
        serializer = RefreshSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.logout_user(user=request.user, token=serializer.validated_data["refresh"], ip=client_ip(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordChangeView(APIView):
    """Change the caller's own password; every refresh token of theirs is blacklisted (other sessions end)."""

    permission_classes = [CanChangeOwnPassword]

    @extend_schema(request=PasswordChangeSerializer, responses={204: None, 400: ERROR, 401: ERROR, 429: ERROR})
    def post(self, request):
        serializer = PasswordChangeSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        services.change_password(user=request.user, **serializer.validated_data, ip=client_ip(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


RESET_REQUESTED = "If this address belongs to an active account, an e-mail with a reset link is on its way."


class PasswordResetView(AnonymousAuthView):
    """Ask for a password-reset link by e-mail: the same 202 whether or not the address is known (throttled per
    IP and per address)."""

    throttle_classes = [AuthThrottle, ResetEmailThrottle]

    @extend_schema(request=PasswordResetSerializer, responses={
        202: OpenApiResponse(DetailSerializer, description="Always the same body: the address is never confirmed."),
        400: ERROR, 429: ERROR})
    def post(self, request):
        serializer = PasswordResetSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.request_password_reset(email=serializer.validated_data["email"], ip=client_ip(request))
        return Response({"detail": RESET_REQUESTED}, status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmView(AnonymousAuthView):
    """Set a new password from a reset link; the link then stops working and every session ends."""

    @extend_schema(request=PasswordResetConfirmSerializer, responses={
        204: None,
        400: OpenApiResponse(description='`invalid_token` (bad, expired or used link), or a field map '
                                         '(`new_password` refused by the validators)'),
        429: ERROR})
    def post(self, request):
        serializer = PasswordResetConfirmSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.reset_password(**serializer.validated_data, ip=client_ip(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProfileView(APIView):
    """The caller's own user and profile; PUT and PATCH update the writable fields."""

    parser_classes = [JSONParser, MultiPartParser]  # multipart only here: the profile image upload

    def _render(self, request, user):
        user = User.objects.select_related("role", "profile").get(pk=user.pk)
        return Response(ProfileSerializer(user, context={"request": request}).data)

    @extend_schema(responses={200: ProfileSerializer})
    def get(self, request):
        return self._render(request, request.user)

    @extend_schema(request=ProfileUpdateSerializer, responses={200: ProfileSerializer, 400: ERROR})
    def put(self, request):
        return self._update(request)

    @extend_schema(request=ProfileUpdateSerializer, responses={200: ProfileSerializer, 400: ERROR})
    def patch(self, request):
        return self._update(request)

    def _update(self, request):
        serializer = ProfileUpdateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        user = services.update_profile(user=request.user, data=serializer.validated_data, ip=client_ip(request))
        return self._render(request, user)


class UserListView(generics.ListAPIView):
    """Users the caller may manage: admin everyone, manager their staff and pending registrations."""

    serializer_class = UserSerializer
    permission_classes = [CanManageUsers]
    filter_backends = [DjangoFilterBackend, SearchFilter]
    filterset_class = UserFilter
    search_fields = ["username", "email", "first_name", "last_name"]

    def get_queryset(self):
        return users_visible_to(self.request.user).order_by("id")


class UserDetailView(generics.RetrieveAPIView):
    """One user within the caller's scope (404 otherwise)."""

    serializer_class = UserSerializer
    permission_classes = [CanManageUsers]

    def get_queryset(self):
        return users_visible_to(self.request.user)


class RegistrationDecisionView(APIView):
    """Approve or reject a pending registration."""

    permission_classes = [CanDecideRegistration]

    @extend_schema(request=RegistrationDecisionSerializer,
                   responses={200: UserSerializer, 400: ERROR, 403: ERROR, 409: ERROR})
    def post(self, request):
        serializer = RegistrationDecisionSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        self.check_object_permissions(request, serializer.validated_data["user"])
        user = services.decide_registration(actor=request.user, **serializer.validated_data, ip=client_ip(request))
        return Response(UserSerializer(user).data)


class PromotionRequestCreateView(APIView):
    """Ask for an active staff member to be promoted to manager.

    The object-level half of the policy is asked by the service, after it has checked the user is
    promotable: a non-staff target is a 400 `not_eligible`, not a 403.
    """

    permission_classes = [CanRequestPromotions]

    @extend_schema(request=PromotionCreateSerializer,
                   responses={201: PromotionRequestSerializer, 400: ERROR, 403: ERROR, 409: ERROR})
    @idempotent
    def post(self, request):
        serializer = PromotionCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        promotion = services.request_staff_promotion(actor=request.user, **serializer.validated_data,
                                                     ip=client_ip(request))
        return Response(PromotionRequestSerializer(promotion).data, status=status.HTTP_201_CREATED)


class PromotionRequestListView(generics.ListAPIView):
    """Promotion requests: admin all, manager their own; filter `status`."""

    serializer_class = PromotionRequestSerializer
    permission_classes = [CanRequestPromotions]
    filter_backends = [DjangoFilterBackend]
    filterset_fields = {"status": ["exact"]}

    def get_queryset(self):
        return promotion_requests_visible_to(self.request.user)


class PromotionDecisionView(APIView):
    """Admin approves (role becomes manager) or rejects a promotion request."""

    permission_classes = [CanDecidePromotions]

    @extend_schema(request=PromotionDecisionSerializer,
                   responses={200: PromotionRequestSerializer, 400: ERROR, 403: ERROR, 409: ERROR})
    def post(self, request):
        serializer = PromotionDecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        promotion = services.decide_promotion_request(
            actor=request.user, promotion_id=data["id"].pk, decision=data["decision"], reason=data["reason"],
            ip=client_ip(request),
        )
        return Response(PromotionRequestSerializer(promotion).data)


class AuditEventListView(generics.ListAPIView):
    """The audit trail, newest first (admin only)."""

    serializer_class = AuditEventSerializer
    permission_classes = [CanReadAuditTrail]
    filter_backends = [DjangoFilterBackend]
    filterset_class = AuditEventFilter

    def get_queryset(self):
        return audit_events_visible_to(self.request.user)

