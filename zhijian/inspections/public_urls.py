from django.urls import path

from . import views

app_name = "inspections_public"
urlpatterns = [path("<str:token>/", views.public_result, name="result")]
