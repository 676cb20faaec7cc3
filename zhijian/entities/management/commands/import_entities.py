from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from zhijian.entities import importer, parsing


class Command(BaseCommand):
    help = "导入市场主体（CSV UTF-8/GBK 或 .xlsx）。最后一行输出 imported=N updated=N rejected=N warned=N"

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--dry-run", action="store_true", help="只校验，不写入")
        parser.add_argument("--stock", action="store_true",
                            help="存量主体（启用系统时装入现有登记库）：不派首次走访，不推送部门")
        parser.add_argument("--errors", help="把逐行错误报告写到这个 CSV 文件")

    def handle(self, path, dry_run, errors, **opts):
        p = Path(path)
        if not p.is_file():
            raise CommandError(f"文件不存在：{path}")
        bar = tqdm(total=0, unit="行", disable=None, file=self.stderr._out, desc="导入")

        def progress(done, total):
            bar.total = total
            bar.n = done
            bar.refresh()

        try:
            summary = importer.Importer(dry_run=dry_run, progress=progress).run(p)
        except parsing.FileProblem as exc:
            raise CommandError(str(exc)) from None
        finally:
            bar.close()
        for e in summary.errors[:20]:
            self.stderr.write(f"第{e.row}行 [{e.column}] {e.value}: {e.message}")
        if len(summary.errors) > 20:
            self.stderr.write(f"……另有 {len(summary.errors) - 20} 条错误")
        if errors:
            Path(errors).write_bytes(importer.error_report_csv(summary))
        if dry_run:
            self.stdout.write("dry-run: nothing written")
        self.stdout.write(summary.line())
