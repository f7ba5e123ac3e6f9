"""URL map: ids are UUIDs; source names are checked against the job's own list."""

from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

urlpatterns = [
    path("", views.library, name="library"),
    path("signup/", views.signup, name="signup"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("upload/", views.upload, name="upload"),
    path("jobs/<uuid:job_id>/", views.job_page, name="job"),
    path("jobs/<uuid:job_id>/status.json", views.job_status, name="job_status"),
    path("jobs/<uuid:job_id>/cancel/", views.job_cancel, name="job_cancel"),
    path("jobs/<uuid:job_id>/delete/", views.job_delete, name="job_delete"),
    path("jobs/<uuid:job_id>/peaks.json", views.job_peaks, name="job_peaks"),
    path("jobs/<uuid:job_id>/preview/<str:source>.mp3", views.stem_preview, name="stem_preview"),
    path("jobs/<uuid:job_id>/stem/<str:source>.<str:fmt>", views.stem_download, name="stem_download"),
    path("jobs/<uuid:job_id>/stems.zip", views.stems_zip, name="stems_zip"),
    path("jobs/<uuid:job_id>/mix/", views.mix_create, name="mix_create"),
    path("mixes/<uuid:mix_id>/status.json", views.mix_status, name="mix_status"),
    path("mixes/<uuid:mix_id>/download/", views.mix_download, name="mix_download"),
]
