"""Error codes of the care app (``ApplicationError.code``)."""

from django.db import models


class CareErrorCode(models.TextChoices):
    BAD_RULE = "care.bad_rule"
    RULE_TOO_BROAD = "care.rule_too_broad"
    BAD_DATES = "care.bad_dates"
    BAD_TRANSITION = "care.bad_transition"
