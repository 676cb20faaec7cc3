from django.urls import path

from . import views

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("otp/", views.otp_verify, name="otp-verify"),
    path("otp/enrol/", views.otp_enrol, name="otp-enrol"),
    path("password/", views.PasswordChangeView.as_view(), name="password_change"),
]
