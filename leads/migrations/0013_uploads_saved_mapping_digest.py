import hashlib

from django.db import migrations, models


def digest_headers(apps, schema_editor):
    """Existing saved mappings keep being offered: their key becomes the digest of
    the same normalised headers."""
    SavedMapping = apps.get_model("leads", "SavedMapping")
    for mapping in SavedMapping.objects.only("pk", "headers").iterator():
        digest = hashlib.sha256(mapping.headers.encode("utf-8")).hexdigest()
        SavedMapping.objects.filter(pk=mapping.pk).update(headers_digest=digest)


class Migration(migrations.Migration):
    """Saved mappings are keyed by a digest of the headers: the headers of a file of
    ~200 columns are longer than PostgreSQL's B-tree index entries may be."""

    dependencies = [
        ("leads", "0012_states_import_runs"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="savedmapping", name="saved_mapping_unique"),
        migrations.AddField(
            model_name="savedmapping",
            name="headers_digest",
            field=models.CharField(default="", max_length=64),
            preserve_default=False,
        ),
        migrations.RunPython(digest_headers, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="savedmapping",
            constraint=models.UniqueConstraint(fields=("campaign", "headers_digest"), name="saved_mapping_unique"),
        ),
    ]
