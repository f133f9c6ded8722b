from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_safe

from govplatform.errors import has_unstorable_text
from govplatform.paging import page_for
from shared_apps.accounts.authz import require_role
from shared_apps.accounts.models import Role
from shared_apps.catalog import actions, queries, search
from shared_apps.catalog.codes import EXERCISING_LEVELS, ITEM_TYPES, validate_basic_code
from shared_apps.catalog.forms import ImplementForm
from shared_apps.catalog.models import BasicItem, Implementation
from shared_apps.catalog.routing import route
from shared_apps.catalog.themes import ORGANISATION, PERSONAL, THEMES
from tenant_apps.departments.models import Department
from tenants import places
from tenants.links import tenant_url
from tenants.places import remembered_place


def _sort_options():
    return [
        ("relevance", _("By relevance")),
        ("name", _("By name")),
        ("code", _("By code")),
    ]


def _bad_filter(request, message):
    return render(request, "400.html", {"message": message}, status=400)


# The filter's choices: the catalog's names as values, labels in the page's language.
THEME_GROUPS = [
    (_lazy("For individuals"), PERSONAL.items()),
    (_lazy("For organisations"), ORGANISATION.items()),
]


def _unknown_theme(request):
    return _bad_filter(request, _("Unknown theme."))


@require_safe
def portal_catalog(request):
    """The provincial catalog: search, filters and sort, a page at a time (阳光政务, no sign-in)."""
    params = request.GET
    level, sort = params.get("level", ""), params.get("sort", "")
    # `level.isdigit()` let "²" through to int(): only the levels themselves are accepted.
    if level and level not in {str(k) for k in EXERCISING_LEVELS}:
        return _bad_filter(request, _("Unknown exercising level."))
    if sort and sort not in queries.SORTS:
        return _bad_filter(request, _("Unknown sort order."))
    if any(has_unstorable_text(v) or len(v) > 100 for v in params.values()):
        return _bad_filter(request, _("A search or filter is too long or has invalid characters."))
    if params.get("theme", "") and params["theme"] not in THEMES:
        return _unknown_theme(request)
    items = queries.catalog(
        q=params.get("q", ""),
        item_type=params.get("type", ""),
        level=int(level) if level else None,
        theme=params.get("theme", ""),
        fully_online=params.get("online") == "1",
        department=params.get("department", ""),
        sort=sort,
    )
    query = params.get("q", "").strip()
    page = page_for(request, items, ranked=bool(query))
    return render(
        request,
        "catalog/portal_catalog.html",
        {
            "page": page,
            "params": params,
            "item_types": sorted(ITEM_TYPES.items()),
            "levels": [(k, v) for k, v in EXERCISING_LEVELS.items() if k in (2, 3, 4, 5)],
            "theme_groups": THEME_GROUPS,
            "sorts": _sort_options(),
            # A plain need never meets an empty page: close terms, popular items, themes.
            "suggestions": search.suggestions(query)
            if query and not page.paginator.count
            else None,
        },
    )


@require_safe
def portal_item(request, code):
    """One basic item: its standard guide and where to apply (routing by place)."""
    item = get_object_or_404(BasicItem, code=code)
    version = queries.current_version(item)
    return render(
        request,
        "catalog/portal_item.html",
        {"item": item, "version": version, "error": request.GET.get("error")},
    )


@require_safe
def route_page(request):
    """Send the citizen to the guide page of the unit that handles the item for their place; or let
    them choose among the units below their place, or among the places their name fits."""
    item = request.GET.get("item", "")
    place, id_number = (
        request.GET.get("place", "").strip(),
        request.GET.get("id_number", "").strip(),
    )
    try:
        # A malformed code (such as "a/b") can't be linked back to: refuse it first.
        validate_basic_code(item)
    except ValidationError as error:
        return render(request, "400.html", {"message": " ".join(error.messages)}, status=400)
    remembered = remembered_place(request)
    # From the item's "apply online" button: straight to the unit's application form (which
    # sends to the guide an item that can't be applied for online there).
    apply = request.GET.get("apply") == "1"

    def target(implementation) -> str:
        return f"/{'apply' if apply else 'services'}/{implementation.code}"

    try:
        found = route(
            item,
            place=place or None,
            id_number=id_number or None,
            remembered=remembered.code if remembered else None,
        )
    except ValidationError as error:
        return render(
            request,
            "catalog/route_failed.html",
            {"message": " ".join(error.messages), "item": item},
            status=400,
        )
    if found.places:
        return render(
            request,
            "catalog/route_places.html",
            {
                "item": item,
                "message": found.reason,
                "page": page_for(request, found.places),
                "apply": apply,
            },
        )
    if found.choices:
        page = page_for(request, found.choices)
        for choice in page:
            unit = choice.unit
            choice.url = tenant_url(unit, target(choice.implementation), request)
            choice.turn_to_url = tenant_url(choice.turn_to, "/", request) if choice.turn_to else ""
        return render(
            request,
            "catalog/route_choices.html",
            {
                "item": item,
                "item_name": BasicItem.objects.filter(code=item)
                .values_list("name", flat=True)
                .first(),
                "message": found.reason,
                "place": places.place(found.place_code),
                "page": page,
            },
        )
    if found.implementation is None:
        turn_to = found.turn_to
        return render(
            request,
            "catalog/route_failed.html",
            {
                "message": found.reason,
                "item": item,
                "suspended": found.suspended,
                "turn_to": turn_to,
                "turn_to_url": tenant_url(turn_to, "/", request) if turn_to else "",
            },
            # A suspension is temporary (as the unit's own pages say); "nobody has it" is not.
            status=503 if found.suspended else 404,
        )
    implementation = found.implementation
    return redirect(tenant_url(implementation.tenant, target(implementation), request))


@require_safe
def tenant_catalog(request):
    """This unit's implementation list, a page at a time."""
    q, sort = request.GET.get("q", ""), request.GET.get("sort", "")
    theme = request.GET.get("theme", "")
    if theme and theme not in THEMES:
        return _unknown_theme(request)
    if sort and sort not in queries.SORTS:
        return _bad_filter(request, _("Unknown sort order."))
    if has_unstorable_text(q) or len(q) > 100:
        return _bad_filter(request, _("A search or filter is too long or has invalid characters."))
    page = page_for(
        request, queries.tenant_services(request.tenant, q, sort, theme), ranked=bool(q.strip())
    )
    return render(
        request,
        "catalog/tenant_catalog.html",
        {
            "page": page,
            "services": queries.services_of(request.tenant, page.object_list),
            "q": q,
            "sort": sort,
            "sorts": _sort_options(),
            "theme": theme,
            "theme_groups": THEME_GROUPS,
        },
    )


@require_safe
def guide_page(request, code):
    """A service guide (办事指南) with every element, the materials and how to complain."""
    implementation = queries.guide(code, request.tenant)
    if implementation is None:
        raise Http404(_("This unit does not offer this service."))
    return render(
        request,
        "catalog/guide.html",
        {"s": implementation, "v": implementation.version, "Implementation": Implementation},
    )


@login_required
def manage_services(request):
    """A unit administrator's page: the unit's implementation list, adding items, publishing."""
    require_role(request, Role.TENANT_ADMIN)
    tenant = request.tenant
    departments = Department.objects.filter(is_active=True)
    form = ImplementForm(request.POST or None, departments=departments)
    for button, action in (
        ("publish", actions.publish_implementation),
        ("withdraw", actions.withdraw_implementation),
        ("delete", actions.delete_draft),
    ):
        if request.method == "POST" and button in request.POST:
            pk = request.POST[button]
            # Only this unit's rows are looked up: another unit's id is simply not found here.
            service = get_object_or_404(
                Implementation,
                pk=int(pk) if pk.isascii() and pk.isdigit() and len(pk) < 19 else 0,
                tenant_id=tenant.id,
            )
            try:
                action(service, actor=request.user, tenant=tenant, request=request)
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            return redirect("services:manage")
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        item = BasicItem.objects.filter(code=data.pop("item_code")).first()
        department = departments.filter(pk=data.pop("department_id")).first()
        if item is None:
            form.add_error(
                "item_code",
                _("No basic item has the code %(code)s.")
                % {"code": form.cleaned_data["item_code"]},
            )
        else:
            version = queries.current_version(item)
            materials = [m.id for m in version.materials.all()] if version else []
            try:
                actions.implement_item(
                    actor=request.user,
                    tenant=tenant,
                    department=department,
                    item=item,
                    material_ids=materials,
                    complaint_phone=data.pop("complaint_phone"),
                    request=request,
                    **data,
                )
            except ValidationError as error:
                for field, problems in (
                    error.message_dict.items()
                    if hasattr(error, "error_dict")
                    else [(None, error.messages)]
                ):
                    form.add_error(field if field in form.fields else None, problems)
            else:
                return redirect("services:manage")
    services = Implementation.objects.filter(tenant_id=tenant.id).exclude(
        status=Implementation.Status.WITHDRAWN
    )
    return render(
        request, "catalog/manage.html", {"form": form, "services": services.select_related("item")}
    )
