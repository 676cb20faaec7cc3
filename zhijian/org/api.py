from rest_framework import serializers

from zhijian.core.api import DisplayModelSerializer, ScopedReadOnlyViewSet

from .models import Bureau, Department, User


class BureauSerializer(DisplayModelSerializer):
    class Meta:
        model = Bureau
        fields = ["id", "name", "short_name", "level", "parent", "division_code", "jurisdiction"]


class DepartmentSerializer(DisplayModelSerializer):
    class Meta:
        model = Department
        fields = ["id", "name", "code", "division_code", "jurisdiction"]


class UserSerializer(DisplayModelSerializer):
    roles = serializers.SlugRelatedField(many=True, read_only=True, slug_field="code")

    class Meta:
        model = User
        fields = ["id", "username", "full_name", "bureau", "department", "roles", "enforcement_cert_no", "scope_division"]


class BureauViewSet(ScopedReadOnlyViewSet):
    queryset = Bureau.objects.all()
    serializer_class = BureauSerializer
    filterset_fields = ["level", "division_code"]


class DepartmentViewSet(ScopedReadOnlyViewSet):
    queryset = Department.objects.all()
    serializer_class = DepartmentSerializer


class UserViewSet(ScopedReadOnlyViewSet):
    queryset = User.objects.prefetch_related("roles").order_by("id")
    serializer_class = UserSerializer
    filterset_fields = ["bureau", "department"]


def register(router):
    router.register("bureaus", BureauViewSet)
    router.register("departments", DepartmentViewSet)
    router.register("people", UserViewSet)
