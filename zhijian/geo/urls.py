from django.urls import path

from . import views

app_name = "geo"
urlpatterns = [
    path("map/", views.grid_map, name="map"),
    path("divisions/", views.divisions, name="divisions"),
    path("divisions/search/", views.division_search, name="division_search"),
    path("divisions/labels.json", views.division_labels, name="division_labels"),
    path("grids/", views.grid_list, name="grid_list"),
    path("grids/<int:pk>/", views.grid_detail, name="grid_detail"),
    path("grids/<int:pk>.geojson", views.grid_geojson, name="grid_geojson"),
    path("grids.geojson", views.grids_geojson, name="grids_geojson"),
    path("entities.geojson", views.entities_geojson, name="entities_geojson"),
]
