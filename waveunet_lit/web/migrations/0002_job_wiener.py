# The Wiener post-filter option of a job (waveunet_lit.wiener), off for the jobs made before it.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("web", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="job",
            name="wiener",
            field=models.BooleanField(
                default=False, help_text="stems post-filtered by one EM iteration of the multichannel Wiener filter"
            ),
        ),
    ]
