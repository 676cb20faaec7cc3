from django.urls import path

from . import views

app_name = "grid"
urlpatterns = [
    path("", views.index, name="index"),
    path("cases/<int:pk>/", views.case_detail, name="case_detail"),
    path("cases/<int:pk>/notice.pdf", views.notice_pdf, name="notice_pdf"),
    path("cases/<int:pk>/<str:action>/", views.case_action, name="case_action"),
    path("report/", views.report, name="report"),
    path("clues/<int:pk>/", views.clue_detail, name="clue_detail"),
    path("clues/<int:pk>/photo", views.clue_photo, name="clue_photo"),
    path("clues/<int:pk>/photo/<int:n>", views.clue_photo, name="clue_photo_n"),
    path("duty/", views.duty, name="duty"),
    path("duty/position/", views.position, name="position"),
    path("duty/orders/", views.my_orders_partial, name="my_orders"),
    path("duty/<str:action>/", views.duty_toggle, name="duty_toggle"),
    path("orders/new/", views.order_new, name="order_new"),
    path("orders/<int:pk>/", views.order_detail, name="order_detail"),
    path("orders/<int:pk>/ack/", views.order_ack, name="order_ack"),
    path("command/", views.command, name="command"),
    path("command/feed.json", views.command_feed, name="command_feed"),
    path("command/counts.json", views.command_counts, name="command_counts"),
    path("command/items.json", views.command_items, name="command_items"),
    path("command/orders/", views.command_orders, name="command_orders"),
    path("warnings/", views.warnings_page, name="warnings"),
    path("warnings/<int:pk>/ack/", views.warning_ack, name="warning_ack"),
]
