from django import template

from tenants.links import portal_url, tenant_url

register = template.Library()


@register.simple_tag(takes_context=True)
def tenant_link(context, tenant, path="/"):
    return tenant_url(tenant, path, context.get("request"))


@register.simple_tag(takes_context=True)
def portal_link(context, path="/"):
    return portal_url(path, context.get("request"))
