from django.db import migrations, models


def mark_waiting_for_columns(apps, schema_editor):
    """An import whose columns were never matched was "validating" with no progress
    time (mapping_save sets one): it now says it waits for its columns."""
    ImportRecord = apps.get_model("leads", "ImportRecord")
    ImportRecord.objects.filter(status="validating", progress_at__isnull=True).update(status="mapping")


def mark_validating(apps, schema_editor):
    apps.get_model("leads", "ImportRecord").objects.filter(status="mapping").update(status="validating")


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0011_export_stopped"),
    ]

    operations = [
        migrations.AddField(
            model_name="importrecord",
            name="run",
            field=models.PositiveIntegerField(default=0, help_text="Which start of its work holds the import now."),
        ),
        migrations.AlterField(
            model_name="importrecord",
            name="status",
            field=models.CharField(
                choices=[
                    ("mapping", "Waiting for its columns"),
                    ("validating", "Validating"),
                    ("ready", "Validated, ready to import"),
                    ("importing", "Importing"),
                    ("done", "Done"),
                    ("failed", "Failed"),
                    ("undoing", "Undoing"),
                    ("undone", "Undone"),
                    ("cancelled", "Cancelled"),
                ],
                default="mapping",
                max_length=12,
            ),
        ),
        migrations.RunPython(mark_waiting_for_columns, mark_validating),
    ]
