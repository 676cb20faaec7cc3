"""Import grid polygons from a GeoJSON FeatureCollection (all or nothing), then report how many
entities the registry re-placed. A registry command: geo imports the grids; the registry's
reaction to ``grids.imported`` (inline, same transaction) moves the entities and records each move."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Max
from django.utils.translation import gettext as _

from zhijian.core.errors import ApplicationError
from zhijian.entities.choices import ChangeKind
from zhijian.entities.models import EntityChange
from zhijian.geo.services import GridImportError, import_grids_geojson


class Command(BaseCommand):
    help = "Import grids (level 1 town / level 2 village) from GeoJSON; re-places entities. Nothing is written if any feature is wrong."

    def add_arguments(self, parser):
        parser.add_argument("path", help="GeoJSON FeatureCollection, GCJ-02 coordinates")
        parser.add_argument("--level", type=int, choices=[1, 2], required=True)

    def handle(self, *args, path, level, **options):
        last_change = EntityChange.objects.aggregate(last=Max("id"))["last"] or 0
        try:
            result = import_grids_geojson(path, level=level, actor=None)
        except GridImportError as exc:
            for line in exc.lines():
                self.stderr.write(line)
            raise CommandError(exc.message) from exc
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        for line in result.repaired:
            self.stdout.write(line)
        moved = EntityChange.objects.filter(id__gt=last_change, kind=ChangeKind.PLACED).count()
        self.stdout.write(
            _("网格导入完成：新增 %(c)d，更新 %(u)d，自动修复 %(r)d，主体重新落位 %(m)d")
            % {"c": result.created, "u": result.updated, "r": len(result.repaired), "m": moved}
        )
