"""Create the first admin account, printing its generated password once."""

from __future__ import annotations

import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Create a superuser for the admin. Uses DJANGO_SUPERUSER_USERNAME / DJANGO_SUPERUSER_PASSWORD / "
        "DJANGO_SUPERUSER_EMAIL when set; otherwise creates 'admin' with a generated password printed once. "
        "Does nothing when a superuser already exists."
    )

    def handle(self, *args, **options):
        User = get_user_model()
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME")
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD")
        email = os.environ.get("DJANGO_SUPERUSER_EMAIL", "")
        if username and password:
            user, created = User.objects.get_or_create(username=username, defaults={"email": email})
            user.is_staff = user.is_superuser = True
            user.set_password(password)
            user.save()
            verb = "Created" if created else "Updated"
            self.stdout.write(f"{verb} superuser '{username}' from DJANGO_SUPERUSER_* (password as set there).")
            return
        existing = User.objects.filter(is_superuser=True).order_by("pk").first()
        if existing:
            self.stdout.write(
                f"Admin login: user '{existing.get_username()}' (password shown when it was created; "
                f"reset it with: .venv/bin/python manage.py changepassword {existing.get_username()})"
            )
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser("admin", email or "admin@example.com", password)
        bar = "=" * 64
        self.stdout.write(
            f"{bar}\n  Admin login (shown once): user 'admin', password '{password}'\n"
            f"  Open http://127.0.0.1:8000/admin/\n{bar}"
        )
