# Step 3 of the seed: Celery starts with Django.
from .celery import app as celery_app

__all__ = ("celery_app",)
