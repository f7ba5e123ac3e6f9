# The high-band option of a job (waveunet_lit.high_band), off for the jobs made before it.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("web", "0002_job_wiener"),
    ]

    operations = [
        migrations.AddField(
            model_name="job",
            name="high_band",
            field=models.BooleanField(
                default=False, help_text="the band above the model's Nyquist frequency shared out among the stems"
            ),
        ),
    ]
