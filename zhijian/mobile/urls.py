from django.urls import path

from . import views

app_name = "mobile"
urlpatterns = [
    path("", views.app, name="app"),
    path("work.json", views.my_work, name="work"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("sw.js", views.service_worker, name="sw"),
]
