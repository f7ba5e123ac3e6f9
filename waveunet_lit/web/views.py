"""Pages and file downloads. Every view but sign-up and log-in needs a logged-in user, and
every job, file and mix is looked up through its owner: another user's id answers 404."""

import json
import tempfile
import zipfile
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import UserCreationForm
from django.db import transaction
from django.db.models import Q, Sum
from django.http import FileResponse, Http404, HttpResponseBadRequest, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from waveunet_lit.separate import read_audio, write_audio

from . import catalog, files, tasks
from .models import Job, Mix
from .uploads import NameKeepingParser, SizeCapHandler, UploadError, check_audio, check_name


def signup(request):
    form = UserCreationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user)
        return redirect("library")
    return render(request, "registration/signup.html", {"form": form})


def _own_job(request, job_id) -> Job:
    """The job ``job_id`` if it belongs to the logged-in user, else 404 (never 403: a stranger
    learns nothing, not even that the id exists)."""
    return get_object_or_404(Job, pk=job_id, owner=request.user)


def _usage(user) -> dict:
    stored = Job.objects.filter(owner=user).aggregate(b=Sum("bytes_stored"))["b"] or 0
    active = Job.objects.filter(owner=user, status__in=Job.ACTIVE).count()
    return {"bytes": stored, "active": active, "quota": settings.WAVEUNET_QUOTA_BYTES, "max_queued": settings.WAVEUNET_MAX_QUEUED}


@login_required
def library(request):
    q = request.GET.get("q", "").strip()
    jobs = Job.objects.filter(owner=request.user)
    if q:
        jobs = jobs.filter(Q(title__icontains=q) | Q(model_name__icontains=q))
    return render(request, "web/library.html", {"jobs": jobs, "q": q, "usage": _usage(request.user)})


class UploadForm(forms.Form):
    model = forms.ChoiceField()
    shifts = forms.IntegerField(min_value=0, initial=0, help_text="test-time shift averaging: more passes, slower, a little better")
    wiener = forms.BooleanField(required=False, initial=False,
                                help_text="multichannel Wiener post-filter: the stems then add up to the song")
    high_band = forms.BooleanField(required=False, initial=True,
                                   help_text="a model at a lower rate than the song: share the band above its Nyquist frequency among the stems")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["model"].choices = [(m.name, m.name) for m in catalog.available_models()]
        self.fields["shifts"].validators.append(_max_shifts)


def _max_shifts(value):
    if value > settings.WAVEUNET_MAX_SHIFTS:
        raise forms.ValidationError(f"at most {settings.WAVEUNET_MAX_SHIFTS} shifts")


@csrf_exempt  # checked below, after the body is parsed with our handlers (Django's documented pattern)
@login_required
def upload(request):
    request._size_cap, request._raw_names = None, []
    if request.method == "POST" and request.content_type == "multipart/form-data":
        # Our parser, not request.POST: it stops at the size cap and keeps the file names as sent.
        cap = SizeCapHandler(request, settings.WAVEUNET_MAX_UPLOAD_BYTES)
        request.upload_handlers = [cap, *request.upload_handlers]
        try:
            parser = NameKeepingParser(request.META, request, request.upload_handlers, request.encoding)
            request._post, request._files = parser.parse()
        except MultiPartParserError as err:
            return HttpResponseBadRequest(f"malformed upload: {err}", content_type="text/plain")
        request._size_cap, request._raw_names = cap, parser.raw_names
    return csrf_protect(_upload)(request)


def _upload(request):
    models = catalog.available_models()
    form = UploadForm(request.POST or None)
    error = None
    if request.method == "POST":
        try:
            job = _create_job(request, form)
            messages.success(request, f"{job.title} is queued")
            return redirect("job", job_id=job.pk)
        except UploadError as err:
            error = str(err)
    status = 400 if error else 200
    return render(request, "web/upload.html", {"form": form, "models": models, "error": error,
                                               "hint": None if models else catalog.missing_models_hint(),
                                               "max_mb": settings.WAVEUNET_MAX_UPLOAD_BYTES // 2**20,
                                               "max_s": settings.WAVEUNET_MAX_SECONDS,
                                               "allowed": ", ".join("." + e for e in files.ALLOWED_EXTENSIONS),
                                               "usage": _usage(request.user)}, status=status)


def _create_job(request, form) -> Job:
    """Check everything, then make the job and enqueue it; raises UploadError, creating nothing."""
    cap_mb = settings.WAVEUNET_MAX_UPLOAD_BYTES / 2**20
    if request._size_cap is not None and request._size_cap.exceeded:
        raise UploadError(f"the file is larger than the {cap_mb:g} MB limit")
    song = request.FILES.get("song")
    if song is None:
        names = [n for n in request._raw_names if n]
        if names:
            check_name(names[0])  # Django dropped it ('.', '..'): say why
        raise UploadError("choose a song file to upload")
    title, ext = check_name(request._raw_names[0] if request._raw_names else song.name)
    if song.size == 0:
        raise UploadError(f"{title!r} is empty (0 bytes)")
    if song.size > settings.WAVEUNET_MAX_UPLOAD_BYTES:
        raise UploadError(f"{title!r} is larger than the {cap_mb:g} MB limit")
    if not form.is_valid():
        raise UploadError("; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))
    info = catalog.find_model(form.cleaned_data["model"])
    usage = _usage(request.user)
    if usage["active"] >= usage["max_queued"]:
        raise UploadError(f"you already have {usage['active']} songs waiting or separating (at most {usage['max_queued']}); "
                          "wait for one to finish or cancel one")
    if usage["bytes"] + song.size * (len(info.sources) * 3 + 1) > usage["quota"]:
        raise UploadError(f"this song would take you over your storage quota of {usage['quota'] / 2**20:.0f} MB "
                          f"({usage['bytes'] / 2**20:.0f} MB used); delete some earlier separations")
    with tempfile.TemporaryDirectory(prefix="upload-", dir=_staging()) as tmp:
        staged = Path(tmp) / f"song.{ext}"  # our name, never the user's
        with open(staged, "wb") as out:
            for chunk in song.chunks():
                out.write(chunk)
        audio = check_audio(staged, title)
        with transaction.atomic():
            job = Job.objects.create(owner=request.user, title=title, input_ext=ext, model_name=info.name,
                                     shifts=form.cleaned_data["shifts"], wiener=form.cleaned_data["wiener"],
                                     high_band=form.cleaned_data["high_band"],
                                     sources=list(info.sources), **audio)
            folder = files.job_dir(job)
            folder.mkdir(parents=True)
            staged.rename(files.song_path(job))
            Job.objects.filter(pk=job.pk).update(bytes_stored=files.folder_bytes(folder))
            transaction.on_commit(lambda: _enqueue(job.pk))
    return job


def _staging() -> Path:
    folder = files.files_root() / "staging"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _enqueue(job_id) -> None:
    result = tasks.separate_job.enqueue(str(job_id))
    Job.objects.filter(pk=job_id).update(task_id=str(result.id)[:64])


def _status(job: Job) -> dict:
    return {"status": job.status, "progress": job.progress, "message": job.message, "sources": job.sources}


@login_required
def job_page(request, job_id):
    job = _own_job(request, job_id)
    if job.status == Job.Status.RUNNING and tasks.fail_stale_jobs():
        job.refresh_from_db()
    return render(request, "web/job.html", {"job": job, "status_json": _status(job)})


@login_required
def job_status(request, job_id):
    job = _own_job(request, job_id)
    if job.status == Job.Status.RUNNING and tasks.fail_stale_jobs():
        job.refresh_from_db()
    return JsonResponse(_status(job))


@require_POST
@login_required
def job_cancel(request, job_id):
    job = _own_job(request, job_id)
    # a queued job is cancelled at once; a running one stops at its next batch of tiles
    if not Job.objects.filter(pk=job.pk, status=Job.Status.QUEUED).update(status=Job.Status.CANCELLED, message="cancelled"):
        Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(cancel_requested=True)
    if request.headers.get("Accept") == "application/json":
        job.refresh_from_db()
        return JsonResponse(_status(job))
    return redirect("job", job_id=job.pk)


@require_POST
@login_required
def job_delete(request, job_id):
    job = _own_job(request, job_id)
    if job.status == Job.Status.RUNNING:
        Job.objects.filter(pk=job.pk).update(cancel_requested=True)
        messages.error(request, f"{job.title} is still separating: it is being cancelled, delete it afterwards")
        return redirect("job", job_id=job.pk)
    files.delete_job_files(job)
    job.delete()
    messages.success(request, f"deleted {job.title}")
    return redirect("library")


def _done_job(request, job_id) -> Job:
    job = _own_job(request, job_id)
    if job.status != Job.Status.DONE:
        raise Http404("this separation has not finished")
    return job


def _attachment(path: Path, filename: str, content_type: str | None = None) -> FileResponse:
    if not path.is_file():
        raise Http404("file not found")
    response = FileResponse(open(path, "rb"), as_attachment=True, filename=filename, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _download_stem_name(job: Job, source: str, ext: str) -> str:
    return f"{Path(job.title).stem[:80] or 'song'} - {source}.{ext}"


@login_required
def stem_download(request, job_id, source, fmt):
    job = _done_job(request, job_id)
    if source not in job.sources or fmt not in ("wav", "flac"):
        raise Http404("no such stem")
    wav = files.stem_path(job, source)
    if fmt == "wav":
        return _attachment(wav, _download_stem_name(job, source, "wav"), "audio/wav")
    tmp = tempfile.NamedTemporaryFile(suffix=".flac")  # deleted when the response closes it
    audio, rate = read_audio(wav)
    write_audio(tmp.name, audio, rate)
    response = FileResponse(open(tmp.name, "rb"), as_attachment=True, filename=_download_stem_name(job, source, "flac"),
                            content_type="audio/flac")
    tmp.close()
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
def stem_preview(request, job_id, source):
    job = _done_job(request, job_id)
    if source not in job.sources:
        raise Http404("no such stem")
    path = files.preview_path(job, source)
    if not path.is_file():
        raise Http404("file not found")
    response = FileResponse(open(path, "rb"), content_type="audio/mpeg")
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    return response


@login_required
def job_peaks(request, job_id):
    job = _done_job(request, job_id)
    return JsonResponse(json.loads(files.peaks_path(job).read_text()))


@login_required
def stems_zip(request, job_id):
    job = _done_job(request, job_id)
    tmp = tempfile.TemporaryFile()
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for source in job.sources:
            zf.write(files.stem_path(job, source), arcname=_download_stem_name(job, source, "wav"))
    tmp.seek(0)
    response = FileResponse(tmp, as_attachment=True, filename=f"{Path(job.title).stem[:80] or 'song'} - stems.zip",
                            content_type="application/zip")
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_POST
@login_required
def mix_create(request, job_id):
    job = _done_job(request, job_id)
    try:
        gains = json.loads(request.body or b"{}").get("gains", {})
        gains = {s: float(gains.get(s, 1.0)) for s in job.sources}
    except (ValueError, AttributeError, TypeError):
        return JsonResponse({"error": "send {\"gains\": {source: number}}"}, status=400)
    if any(not 0 <= g <= 4 for g in gains.values()):
        return JsonResponse({"error": "gains must be between 0 and 4"}, status=400)
    mix = Mix.objects.create(job=job, gains=gains)
    transaction.on_commit(lambda: tasks.render_mix.enqueue(str(mix.pk)))
    return JsonResponse({"status": mix.status, "url": reverse("mix_status", args=[mix.pk])})


def _own_mix(request, mix_id) -> Mix:
    return get_object_or_404(Mix.objects.select_related("job"), pk=mix_id, job__owner=request.user)


@login_required
def mix_status(request, mix_id):
    mix = _own_mix(request, mix_id)
    download = reverse("mix_download", args=[mix.pk]) if mix.status == Mix.Status.DONE else None
    return JsonResponse({"status": mix.status, "message": mix.message, "download": download})


@login_required
def mix_download(request, mix_id):
    mix = _own_mix(request, mix_id)
    if mix.status != Mix.Status.DONE:
        raise Http404("this mix is not ready")
    return _attachment(files.mix_path(mix), f"{Path(mix.job.title).stem[:80] or 'song'} - my mix.wav", "audio/wav")
