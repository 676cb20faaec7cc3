from rest_framework import serializers

from zhijian.core.api import DisplayModelSerializer, ScopedReadOnlyViewSet

from .models import Division, Grid


class DivisionSerializer(DisplayModelSerializer):
    class Meta:
        model = Division
        fields = ["code", "name", "level", "parent"]


class GridSerializer(DisplayModelSerializer):
    class Meta:
        model = Grid
        fields = ["id", "code", "name", "level", "parent", "division_code", "entity_count"]


class DivisionViewSet(ScopedReadOnlyViewSet):
    queryset = Division.objects.all()
    serializer_class = DivisionSerializer
    filterset_fields = ["level", "parent"]


class GridViewSet(ScopedReadOnlyViewSet):
    queryset = Grid.objects.order_by("code")
    serializer_class = GridSerializer
    filterset_fields = ["level", "division_code", "parent"]


def register(router):
    router.register("divisions", DivisionViewSet)
    router.register("grids", GridViewSet)
