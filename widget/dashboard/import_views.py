"""Import & export: an owner uploads another system's export, imported in the background while the page shows
its progress, and downloads everything the site has."""
import errno
import shutil

from flask import current_app, flash, g, jsonify, redirect, render_template, request, stream_with_context, url_for
from flask_login import login_required

from .. import exports, import_jobs, imports
from ..errors import InvalidInput
from ..extensions import db
from . import bp, sentence, wants_json
from .access import actor, site_for

EMPTY_FORM = {"kind": "", "map_from": "", "map_to": "", "pingbacks": "keep", "base_url": "", "dry_run": False}
CHUNK = 1024 * 1024


def _page(site, form, errors, status):
    jobs = [(job, import_jobs.describe(job)) for job in import_jobs.jobs_of(site)]
    max_bytes = current_app.config["IMPORT_MAX_BYTES"]
    return render_template("dashboard/import.html", site=site, form=form, errors=errors, jobs=jobs,
                           batches=imports.batches_of(site),
                           kinds=imports.KINDS, labels=imports.LABELS, sources=import_jobs.SOURCES,
                           max_bytes=max_bytes, max_size=import_jobs.size_text(max_bytes)), status


def _refused(site, form, errors, status):
    """The form again with what is wrong; or, to the upload script, the same as JSON."""
    if wants_json():
        return jsonify(error={"code": "invalid_import", "message": " ".join(errors.values())}, errors=errors), status
    return _page(site, form, errors, status)


def _form():
    values = request.form
    return {"kind": values.get("kind", ""), "map_from": values.get("map_from", "").strip(),
            "map_to": values.get("map_to", "").strip(), "pingbacks": values.get("pingbacks", "keep"),
            "base_url": values.get("base_url", "").strip(), "dry_run": values.get("dry_run") == "yes"}


@bp.route("/sites/<site_id>/import", methods=["GET", "POST"])
@login_required
def import_page(site_id):
    site = site_for(site_id, "manage")
    if request.method == "GET":
        return _page(site, EMPTY_FORM, {}, 200)
    if g.get("upload_too_large"):
        limit = import_jobs.size_text(current_app.config["IMPORT_MAX_BYTES"])
        return _refused(site, EMPTY_FORM, {"file": f"The file is larger than {limit}, the most this server takes. "
                                                "Its administrator can import it with the command line."}, 413)
    form = _form()
    errors = {}
    try:
        choice = import_jobs.check(site, **form)
    except import_jobs.ImportInvalid as failure:
        errors = dict(failure.errors)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        errors["file"] = "Choose the file to import."
    if errors or upload is None:
        return _refused(site, form, errors, 400)
    # Saved under a random name, a megabyte at a time: the name the browser sent is only shown, never a path.
    folder = import_jobs.upload_folder(current_app.config["IMPORT_FOLDER"], current_app.instance_path)
    stored = import_jobs.stored_name(choice.kind)
    path = folder / stored
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(path, "xb") as out:
            shutil.copyfileobj(upload.stream, out, CHUNK)
            size = out.tell()
    except OSError as error:
        path.unlink(missing_ok=True)
        return _refused(site, form, {"file": f"The server could not store the file: {error.strerror}."},
                     507 if error.errno == errno.ENOSPC else 500)
    if size == 0:
        path.unlink(missing_ok=True)
        return _refused(site, form, {"file": "That file is empty."}, 400)
    try:
        job = import_jobs.queue_import(actor(), site, choice, stored, import_jobs.display_name(upload.filename), size)
    except BaseException:
        db.session.rollback()
        path.unlink(missing_ok=True)
        raise
    what = "checked (a dry run: nothing is written)" if choice.dry_run else "imported"
    flash(f"Uploaded {job.payload['file_name']}: it is {what} in the background, and its progress shows below. "
          "You can leave this page and come back.", "success")
    page = url_for("dashboard.import_page", site_id=site.public_id, _anchor=f"import-{job.id}")
    if wants_json():
        return jsonify(location=page, job=import_jobs.describe(job)), 201
    return redirect(page, 303)


@bp.get("/sites/<site_id>/import/<int:job_id>.json")
@login_required
def import_status(site_id, job_id):
    site = site_for(site_id, "manage")
    return jsonify(import_jobs.describe(import_jobs.job_of(site, job_id)))


@bp.post("/sites/<site_id>/import/batches/<int:batch_id>/undo")
@login_required
def undo_import(site_id, batch_id):
    site = site_for(site_id, "manage")
    dry_run = request.form.get("dry_run") == "yes"
    try:
        done = imports.undo(site, batch_id, dry_run=dry_run, actor=actor())
    except InvalidInput as failure:
        flash(sentence(failure.message), "error")
    else:
        flash(" ".join(done.lines()), "success")
    return redirect(url_for("dashboard.import_page", site_id=site.public_id, _anchor="batches-heading"), 303)


@bp.get("/sites/<site_id>/export")
@login_required
def export_site(site_id):
    site = site_for(site_id, "manage")
    # Streamed as it is read from the database: a large site never sits whole in memory.
    response = current_app.response_class(stream_with_context(exports.export_lines(site)),
                                          mimetype="application/x-ndjson")
    response.headers["Content-Disposition"] = f'attachment; filename="{site.public_id}-comments.jsonl"'
    return response
