from django.urls import path

from . import views

app_name = "coordination"
urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("items/<int:pk>/", views.item_detail, name="item_detail"),
    path("items/<int:pk>/<str:action>/", views.item_action, name="item_action"),
    path("clues/", views.clue_list, name="clue_list"),
    path("clues/new/", views.clue_new, name="clue_new"),
    path("clues/<int:pk>/", views.clue_detail, name="clue_detail"),
    path("clues/<int:pk>/<str:action>/", views.clue_action, name="clue_action"),
    path("rules/", views.rule_list, name="rule_list"),
    path("rules/matters/new/", views.matter_edit, name="matter_new"),
    path("rules/matters/<int:pk>/", views.matter_edit, name="matter_edit"),
    path("rules/new/", views.rule_edit, name="rule_new"),
    path("rules/<int:pk>/", views.rule_edit, name="rule_edit"),
    path("rules/replay/", views.replay, name="replay"),
]
