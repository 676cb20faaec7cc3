from django.urls import path

from . import views

app_name = "mobile"
urlpatterns = [
    path("", views.app, name="app"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("sw.js", views.service_worker, name="sw"),
]
