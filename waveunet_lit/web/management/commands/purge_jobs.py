"""``purge_jobs [--days N]``: delete separations older than N days, files and rows."""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from waveunet_lit.web import files
from waveunet_lit.web.models import Job


class Command(BaseCommand):
    help = "Delete finished, failed and cancelled separations older than --days (default: WAVEUNET_WEB_RETENTION_DAYS)."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=float, default=None)
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args, days=None, dry_run=False, **options):
        days = settings.WAVEUNET_RETENTION_DAYS if days is None else days
        if days < 0:
            raise ValueError(f"--days must be >= 0, got {days}")
        old = Job.objects.filter(created__lt=timezone.now() - timedelta(days=days)).exclude(status__in=Job.ACTIVE)
        count = 0
        for job in old:
            if not dry_run:
                files.delete_job_files(job)
                job.delete()
            count += 1
        self.stdout.write(f"{'would delete' if dry_run else 'deleted'} {count} separation(s) older than {days:g} days")
