from django.urls import path

from . import views

app_name = "security"

urlpatterns = [
    path("audit/", views.audit_list, name="audit-list"),
    path("audit/export.csv", views.audit_export, name="audit-export"),
]
