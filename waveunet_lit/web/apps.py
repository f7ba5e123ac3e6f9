"""The Django app of the web interface."""

from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "waveunet_lit.web"
    label = "web"
    verbose_name = "waveunet-lit web"
    default_auto_field = "django.db.models.BigAutoField"
