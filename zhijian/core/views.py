from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from zhijian.entities.models import MarketEntity


@login_required
def home(request):
    entities = MarketEntity.objects.scoped(request.user)
    return render(request, "core/home.html", {"entity_count": entities.count()})
