from django.urls import path

from . import views

app_name = "supervision"
urlpatterns = [
    path("", views.my_board, name="my_board"),
    path("unit/", views.unit_board, name="unit_board"),
    path("new/", views.task_new, name="task_new"),
    path("templates/", views.template_list, name="template_list"),
    path("templates/<int:pk>/", views.template_detail, name="template_detail"),
    path("<int:pk>/", views.task_detail, name="task_detail"),
    path("<int:pk>/<str:action>/", views.task_action, name="task_action"),
]
