"""Routes of the accounts API: auth, profile, users, registration decisions, promotion requests, audit events
(registering, dismissing and demoting staff are routed by `warehouses.urls`)."""

from django.urls import path

from . import views

urlpatterns = [
    path("auth/login/", views.LoginView.as_view(), name="auth-login"),
    path("auth/refresh/", views.RefreshView.as_view(), name="auth-refresh"),
    path("auth/logout/", views.LogoutView.as_view(), name="auth-logout"),
    path("auth/password/change/", views.PasswordChangeView.as_view(), name="auth-password-change"),
    path("auth/password/reset/", views.PasswordResetView.as_view(), name="auth-password-reset"),
    path("auth/password/reset/confirm/", views.PasswordResetConfirmView.as_view(),
         name="auth-password-reset-confirm"),
    path("profile/", views.ProfileView.as_view(), name="profile"),
    path("users/", views.UserListView.as_view(), name="user-list"),
    path("users/<int:pk>/", views.UserDetailView.as_view(), name="user-detail"),
    path("staffs/approve/", views.RegistrationDecisionView.as_view(), name="staff-approve"),
    path("managers/request-staff-promotion/", views.PromotionRequestCreateView.as_view(),
         name="promotion-request-create"),
    path("promotion-requests/", views.PromotionRequestListView.as_view(), name="promotion-request-list"),
    path("promotion-requests/approve/", views.PromotionDecisionView.as_view(), name="promotion-request-approve"),
    path("audit-events/", views.AuditEventListView.as_view(), name="audit-event-list"),
]
