"""WSGI entry point, for a production server (``gunicorn waveunet_lit.web.wsgi``)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "waveunet_lit.web.settings")
application = get_wsgi_application()
