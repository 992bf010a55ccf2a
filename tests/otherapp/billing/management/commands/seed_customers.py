"""``manage.py seed_customers --count N``: customers 1..N, each with one open invoice."""

from django.core.management.base import BaseCommand

from billing.models import Customer, Invoice


class Command(BaseCommand):
    help = "Create N customers, each with one open invoice (ids 1..N)."

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, default=10)

    def handle(self, *args, count, **options):
        for number in range(1, count + 1):
            customer, _ = Customer.objects.get_or_create(email=f"customer{number}@billing.internal")
            Invoice.objects.get_or_create(customer=customer, defaults={"amount_cents": 100 * number})
        self.stdout.write(f"seeded {count} customers")
