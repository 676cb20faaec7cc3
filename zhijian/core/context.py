from django.conf import settings


def site(request):
    return {"TILE_URL": settings.TILE_URL}
