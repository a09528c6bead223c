"""Models of the project itself (not of a product app)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class LoginAttempt(models.Model):
    """Password checks reserved for one username from one address within a window
    (config/throttle.py's database store; Redis holds them instead when REDIS_URL is set).

    Written only by one ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` statement, so two
    requests can never both read the same count."""

    # sha256 of the casefolded username and the address: a typed username can be anything.
    digest = models.CharField(_("digest"), max_length=64, primary_key=True)
    attempts = models.PositiveIntegerField(_("attempts"))
    # Epoch seconds, as config/throttle.py's clock counts them.
    window_ends_at = models.FloatField(_("window ends at"), db_index=True)

    class Meta:
        db_table = "config_loginattempt"
        verbose_name = _("login attempt")
        verbose_name_plural = _("login attempts")

    def __str__(self) -> str:
        return f"{self.digest[:12]}: {self.attempts}"
