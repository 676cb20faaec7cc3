from django.urls import path

from . import views

app_name = "draws"
urlpatterns = [
    path("", views.plan_list, name="plan_list"),
    path("plans/new/", views.plan_create, name="plan_create"),
    path("plans/<int:pk>/", views.plan_detail, name="plan_detail"),
    path("plans/<int:pk>/commit/", views.plan_commit, name="plan_commit"),
    path("<int:pk>/", views.draw_detail, name="draw_detail"),
    path("<int:pk>/execute/", views.draw_execute, name="draw_execute"),
    path("<int:pk>/void/", views.draw_void, name="draw_void"),
    path("<int:pk>/merge/", views.draw_merge, name="draw_merge"),
    path("items/<int:pk>/result/", views.item_result, name="item_result"),
    path("items/<int:pk>/publish/", views.item_publish, name="item_publish"),
]
