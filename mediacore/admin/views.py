"""Console pages (server-rendered) and the proxy routes the pages' scripts call."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, abort, current_app, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from .proxy import ApiClient
from .security import csrf_token, csrf_valid, login_required, password_matches

console = Blueprint(
    "console", __name__, template_folder="templates", static_folder="static", static_url_path="/static"
)

PAGE_SIZE = 24
LIST_FILTERS = ("category", "media_type", "status", "q", "sort")
READ_ROUTES = ("media", "media/categories", "media/scan-info")


def api() -> ApiClient:
    client: ApiClient = current_app.extensions["mediacore_api"]
    return client


# -- login ----------------------------------------------------------------------------------------


@console.route("/login", methods=["GET", "POST"])
def login() -> Any:
    error = None
    if request.method == "POST":
        if not csrf_valid():
            error = "The form expired; try again."
        elif password_matches(request.form.get("password", "")):
            session.clear()  # a fresh session, and a fresh CSRF token, after logging in
            session["user"] = "admin"
            csrf_token()
            target = request.args.get("next") or ""
            return redirect(
                target if target.startswith("/") and not target.startswith("//") else url_for(".library")
            )
        else:
            error = "Wrong password."
    csrf_token()
    return render_template("login.html", error=error), 401 if error else 200


@console.post("/logout")
@login_required
def logout() -> Any:
    session.clear()
    return redirect(url_for(".login"))


# -- pages ----------------------------------------------------------------------------------------


@console.get("/")
@login_required
def library() -> Any:
    filters = {name: request.args.get(name, "") for name in LIST_FILTERS}
    page = request.args.get("page", "1")
    params = {key: value for key, value in filters.items() if value}
    status, listing = api().get_json("/media", {**params, "page": page, "per_page": PAGE_SIZE})
    _, categories = api().get_json("/media/categories")
    error = listing.get("error", {}).get("message") if status != 200 else None

    def page_url(number: int) -> str:
        return url_for(".library") + "?" + urlencode({**params, "page": number})

    return render_template(
        "library.html",
        listing=listing if status == 200 else None,
        error=error,
        filters=filters,
        categories=categories.get("categories", []),
        page_url=page_url,
    )


@console.get("/item/<int:item_id>")
@login_required
def item(item_id: int) -> Any:
    status, body = api().get_json(f"/media/{item_id}")
    if status == 404:
        abort(404)
    return render_template("item.html", item=body, error=body.get("error", {}).get("message"))


@console.get("/maintenance")
@login_required
def maintenance() -> Any:
    _, categories = api().get_json("/media/categories")
    _, stats = api().get_json("/media/scan-info")
    return render_template("maintenance.html", categories=categories.get("categories", []), stats=stats)


@console.get("/upload")
@login_required
def upload_page() -> Any:
    _, categories = api().get_json("/media/categories")
    return render_template(
        "upload.html",
        categories=categories.get("categories", []),
        default_category=categories.get("default_category"),
    )


# -- proxy ----------------------------------------------------------------------------------------


def _forward(method: str, path: str, *, with_body: bool = False) -> Response:
    return api().forward(
        method,
        path,
        query=request.query_string,
        headers=request.headers,
        body=request.stream if with_body else None,
        length=request.content_length if with_body else None,
    )


@console.route("/admin/api/<path:subpath>", methods=["GET"])
@login_required
def read_proxy(subpath: str) -> Response:
    """Reads the pages' scripts and media elements need: lists, details, streams, posters."""
    parts = subpath.split("/")
    allowed = subpath in READ_ROUTES or (
        len(parts) in (2, 3)
        and parts[0] == "media"
        and parts[1].isdigit()
        and (len(parts) == 2 or parts[2] in ("stream", "poster"))
    )
    if not allowed:
        abort(404)
    return _forward("GET", f"/{subpath}")


@console.post("/admin/media/maintenance-scan")
@login_required
def scan_proxy() -> Response:
    return _forward("POST", "/admin/media/maintenance-scan", with_body=True)


@console.post("/admin/media/upload")
@login_required
def upload_proxy() -> Response:
    return _forward("POST", "/media/upload", with_body=True)


@console.post("/admin/media/<int:item_id>/refresh")
@login_required
def refresh_proxy(item_id: int) -> Response:
    return _forward("POST", f"/media/{item_id}/refresh")


@console.delete("/admin/media/<int:item_id>")
@login_required
def delete_proxy(item_id: int) -> Response:
    return _forward("DELETE", f"/media/{item_id}")
