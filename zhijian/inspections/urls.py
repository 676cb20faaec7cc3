from django.urls import path

from . import views

app_name = "inspections"
urlpatterns = [
    path("checklists/", views.checklist_index, name="checklists"),
    path("checklists/<slug:code>/", views.checklist_line, name="checklist_line"),
    path("laws/<int:pk>/", views.law_detail, name="law"),
    path("<int:pk>/", views.inspection_detail, name="detail"),
    path("<int:pk>/record.pdf", views.record_pdf, name="record_pdf"),
    path("<int:pk>/correction.pdf", views.correction_pdf, name="correction_pdf"),
    path("<int:pk>/signatures/<int:sig_pk>.png", views.signature_image, name="signature_image"),
]
