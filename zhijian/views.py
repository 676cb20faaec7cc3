"""Project-level pages that belong to no one app: the home page (工作台)."""
from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from zhijian.entities.models import MarketEntity


@login_required
def home(request):
    entities = MarketEntity.objects.scoped(request.user)
    return render(request, "home.html", {"entity_count": entities.count()})
