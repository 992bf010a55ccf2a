"""Customers are created by ``manage.py seed_customers``; tasks refuse to run without them."""

from django.db import models


class Customer(models.Model):
    email = models.EmailField(unique=True)


class Invoice(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE)
    amount_cents = models.PositiveIntegerField()
    status = models.CharField(max_length=16, default="open")  # open, charged, settled, receipted
    charged_at = models.DateTimeField(null=True)
    attempts = models.PositiveIntegerField(default=0)
