"""The translated strings the phone app's JavaScript shows (rendered into the page with json_script)."""
from __future__ import annotations

from django.utils.translation import gettext as _


def business_lines() -> dict[str, str]:
    """Names of the checklists' business lines (food_sales → 食品销售), for the item groups."""
    from django.apps import apps

    if not apps.is_installed("zhijian.inspections"):
        return {}
    from zhijian.inspections.models import BusinessLine

    return dict(BusinessLine.objects.values_list("code", "name"))


def js_strings() -> dict[str, str]:
    return {
        "online": _("在线"),
        "offline": _("离线"),
        "offline_ready": _("可离线使用"),
        "searching": _("正在查找…"),
        "no_results": _("没有找到符合条件的主体"),
        "search_min": _("请输入至少2个字的名称或18位统一社会信用代码"),
        "prepare": _("下载检查"),
        "preparing": _("正在下载…"),
        "prepared_ok": _("已下载，可离线检查"),
        "prepare_needs_network": _("下载检查必须联网"),
        "no_open_tasks": _("该主体没有待办的监管任务"),
        "start": _("开始检查"),
        "resume": _("继续检查"),
        "remove": _("移除"),
        "confirm_remove": _("确定移除这份已下载的检查？未提交的记录将丢失。"),
        "prepared_at": _("下载于"),
        "tasks": _("项任务"),
        "items": _("个检查事项"),
        "nothing_prepared": _("还没有下载的检查。联网时查找主体并点“下载检查”。"),
        "outbox_empty": _("没有待上传的记录"),
        "queued": _("待上传"),
        "sending": _("正在上传…"),
        "synced": _("已上传"),
        "rejected": _("被退回"),
        "auth": _("需要重新登录"),
        "login_again": _("重新登录"),
        "retry": _("重试"),
        "retry_later": _("网络不可用，稍后自动重试"),
        "record_pdf": _("现场检查笔录"),
        "correction_pdf": _("责令改正通知书"),
        "public_qr": _("企业查看"),
        "number": _("编号"),
        "ok": _("合格"),
        "problem": _("不合格"),
        "na": _("不适用"),
        "unchecked": _("未查"),
        "key_item": _("重点"),
        "basis": _("依据"),
        "note": _("问题说明"),
        "note_placeholder": _("写明发现的问题"),
        "photo": _("拍照"),
        "voice": _("录音"),
        "video": _("录像"),
        "text": _("文字"),
        "text_prompt": _("记录内容"),
        "remove_attachment": _("删除"),
        "problems": _("发现的问题"),
        "no_problems": _("未发现问题"),
        "attachments": _("附件"),
        "conclusion_pass": _("检查通过"),
        "conclusion_correct": _("责令限期改正"),
        "conclusion_case": _("立案查处"),
        "opinion_pass": _("经现场检查，未发现违法违规问题。"),
        "opinion_problems": _("经现场检查，发现以下问题："),
        "opinion_correct": _("责令你单位于%(days)s个工作日内改正上述问题。"),
        "opinion_case": _("上述问题涉嫌违法，依法立案调查。"),
        "choose_officer": _("请选择第二名执法人员"),
        "sign_here": _("请在此签名"),
        "clear": _("重签"),
        "err_no_results": _("请至少检查一个事项"),
        "err_note": _("不合格事项须写明问题"),
        "err_conclusion": _("请选择检查结论"),
        "err_days": _("请填写改正期限（工作日）"),
        "err_opinion": _("请填写处理意见"),
        "err_officer": _("请选择第二名执法人员"),
        "err_officer_sign": _("两名执法人员都须签名"),
        "err_rep_sign": _("当事人须签名，或记录拒签原因和见证人"),
        "err_refusal": _("拒签须写明原因和见证人"),
        "err_too_big": _("记录连同附件共 %(size)s MB，超过上传上限 %(limit)s MB，请删除或重拍部分附件"),
        "submitted": _("已提交，联网后自动上传"),
        "submitting": _("正在保存…"),
        "network_error": _("网络错误"),
        "server_error": _("服务器错误"),
        "scan_unsupported": _("此设备不支持扫码，请输入统一社会信用代码"),
        "camera_error": _("无法打开相机"),
        "back": _("返回"),
        "quota": _("手机存储空间不足，请先上传已完成的记录"),
    }
