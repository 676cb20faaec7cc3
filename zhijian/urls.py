from django.contrib import admin
from django.urls import include, path
from django.conf import settings
from django.views.generic import RedirectView
from django.views.i18n import set_language
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from zhijian import views as project_views

api_v1 = [
    path("", include("zhijian.api_urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
]

urlpatterns = [
    path("favicon.ico", RedirectView.as_view(url=settings.STATIC_URL + "zhijian/favicon.svg", permanent=True)),
    path("", project_views.home, name="home"),
    path("accounts/", include("zhijian.org.urls")),
    path("security/", include("zhijian.security.urls")),
    path("exports/", include("zhijian.core.exports")),
    path("i18n/setlang/", set_language, name="set_language"),
    path("entities/", include("zhijian.entities.urls")),
    path("geo/", include("zhijian.geo.urls")),
    path("tasks/", include("zhijian.supervision.urls")),
    path("grid/", include("zhijian.grid.urls")),
    path("draws/", include("zhijian.draws.urls")),
    path("p/draws/", include("zhijian.draws.public_urls")),
    path("m/", include("zhijian.mobile.urls")),
    path("inspections/", include("zhijian.inspections.urls")),
    path("p/inspections/", include("zhijian.inspections.public_urls")),
    path("p/trace/", include("zhijian.core.public_trace")),
    path("coordination/", include("zhijian.coordination.urls")),
    path("stats/", include("zhijian.analytics.urls")),
    path("api/v1/", include(api_v1)),
    path("admin/", admin.site.urls),
]

# Error pages in Chinese with navigation and the reason (JSON under /api/): org.errorviews.
handler400 = "zhijian.org.errorviews.bad_request"
handler403 = "zhijian.org.errorviews.permission_denied"
handler404 = "zhijian.org.errorviews.page_not_found"
handler500 = "zhijian.org.errorviews.server_error"
