"""The project's one router for /api/v1/: each app registers its viewsets in its api.py
``register(router)``. It lives at project level (beside urls.py), above every app, so no app —
core least of all — imports the apps that sit above it."""
from django.urls import include, path
from rest_framework.routers import DefaultRouter

from zhijian.analytics import api as analytics_api
from zhijian.coordination import api as coordination_api
from zhijian.core import api_trace as core_trace_api
from zhijian.deadlines import api as deadlines_api
from zhijian.draws import api as draws_api
from zhijian.entities import api as entities_api
from zhijian.geo import api as geo_api
from zhijian.grid import api as grid_api
from zhijian.inspections import api as inspections_api
from zhijian.org import api as org_api
from zhijian.security import api as security_api
from zhijian.supervision import api as supervision_api

router = DefaultRouter()
for module in (org_api, geo_api, entities_api, core_trace_api, deadlines_api, security_api, supervision_api, draws_api,
               inspections_api, coordination_api, grid_api, analytics_api):
    module.register(router)

urlpatterns = [path("", include(router.urls))]
