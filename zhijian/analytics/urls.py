from django.urls import path

from . import views

app_name = "analytics"

urlpatterns = [
    path("", views.stats, name="stats"),
    path("efficiency/", views.efficiency, name="efficiency"),
    path("export/<slug:slug>.xlsx", views.export, name="export"),
    path("overview/<slug:kind>/", views.overview_list, name="overview_list"),
]
