"""Settings package of the billing project; the Celery app lives in config.celery_app."""
