from django.urls import path

from . import views

app_name = "entities"
urlpatterns = [
    path("", views.entity_list, name="list"),
    path("export.xlsx", views.entity_export, name="export"),
    path("import/", views.import_upload, name="import"),
    path("import/template.xlsx", views.import_template, name="import_template"),
    path("import/<int:pk>/", views.import_job, name="import_job"),
    path("import/<int:pk>/errors.csv", views.import_job_report, name="import_job_report"),
    path("map/points.geojson", views.map_points, name="map_points"),
    path("in-grid/<int:grid_id>/", views.grid_entities, name="in_grid"),
    path("<str:credit_code>/", views.entity_detail, name="detail"),
]
