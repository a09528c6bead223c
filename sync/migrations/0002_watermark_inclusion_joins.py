from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("sync", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="watermark",
            name="source",
            field=models.CharField(
                choices=[
                    ("hubspot_contacts", "HubSpot contacts"),
                    ("salesforce_leads", "Salesforce leads"),
                    ("salesforce_contacts", "Salesforce contacts"),
                    ("inclusion_joins", "Inclusion-list joins"),
                ],
                max_length=24,
                unique=True,
                verbose_name="source",
            ),
        ),
    ]
