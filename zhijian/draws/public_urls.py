"""Public pages of a draw (no login): /p/draws/<public id>/…"""
from django.urls import path

from . import views

app_name = "draws_public"
urlpatterns = [
    path("<str:public_id>/", views.public_draw, name="draw"),
    path("<str:public_id>/results/", views.public_results, name="results"),
    path("<str:public_id>/files/<str:name>", views.public_file, name="file"),
]
