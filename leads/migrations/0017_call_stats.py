from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0016_call_results"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="call",
            index=models.Index(
                condition=models.Q(("goal_achieved", True), ("outcome", "completed")),
                fields=["campaign"],
                name="call_goal",
            ),
        ),
    ]
