"""Names for codes in templates, from the same registry as the API's ``*_display`` fields.

``{% load names %}{{ entity.industry_code|code_name:"industry_code" }}`` → 营养和保健品零售;
``{{ plan.business_lines|code_name:"business_lines" }}`` → 食品销售、餐饮服务.
"""
from django import template

from zhijian.core.api import name_of

register = template.Library()


@register.filter
def code_name(value, field_name: str) -> str:
    return name_of(field_name, value)
