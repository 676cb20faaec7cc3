"""Choices for checklists and on-site inspections: no magic strings elsewhere."""
from django.db import models
from django.utils.translation import gettext_lazy as _


class CheckResult(models.TextChoices):
    OK = "ok", _("符合")
    PROBLEM = "problem", _("不符合")
    NA = "na", _("不适用")
    # Written by the server for an item of a covered business line the officers left unanswered.
    UNCHECKED = "unchecked", _("未检查")


# What an officer may answer for an item (未检查 is what the record says when they did not).
ANSWERS = [CheckResult.OK, CheckResult.PROBLEM, CheckResult.NA]


class Conclusion(models.TextChoices):
    PASS = "pass", _("通过")
    CORRECT = "correct", _("责令限期改正")
    CASE = "case", _("立案调查")


class InspectionState(models.TextChoices):
    DRAFT = "draft", _("草稿")
    SIGNED = "signed", _("已签名")
    SEALED = "sealed", _("已签章")


class AttachmentKind(models.TextChoices):
    PHOTO = "photo", _("照片")
    VOICE = "voice", _("录音")
    VIDEO = "video", _("视频")
    TEXT = "text", _("文字")


# The upload kind (zhijian.security.uploads) each attachment kind is checked as; text is kept inline.
ATTACHMENT_UPLOAD_KIND = {AttachmentKind.PHOTO: "image", AttachmentKind.VOICE: "audio", AttachmentKind.VIDEO: "video"}
# Per-attachment size limits (bytes). The whole request is also bounded by MAX_REQUEST_BYTES.
ATTACHMENT_MAX_BYTES = {
    AttachmentKind.PHOTO: 8 * 1024 * 1024,
    AttachmentKind.VOICE: 8 * 1024 * 1024,
    AttachmentKind.VIDEO: 16 * 1024 * 1024,
    AttachmentKind.TEXT: 64 * 1024,
}
SIGNATURE_MAX_BYTES = 512 * 1024


class SignerRole(models.TextChoices):
    OFFICER = "officer", _("执法人员")
    REPRESENTATIVE = "representative", _("当事人/负责人")


class ClueState(models.TextChoices):
    OPEN = "open", _("待立案审查")
    FILED = "filed", _("已立案")
    CLOSED = "closed", _("不予立案")


class InspectionAction(models.TextChoices):
    """Trace actions written by the inspection services."""

    CREATED = "inspection.created", _("检查记录上传")
    SIGNED = "inspection.signed", _("双方签名")
    SEALED = "inspection.sealed", _("笔录签章")
    DOCUMENT = "inspection.document", _("生成文书")
    CLUE = "inspection.clue", _("登记案件线索")
    CHECKLIST_PUBLISHED = "checklist.published", _("发布检查清单版本")
