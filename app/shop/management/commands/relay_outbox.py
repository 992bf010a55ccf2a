"""``manage.py relay_outbox``: publish the outbox's pending tasks until stopped."""

import signal
import threading

from django.core.management.base import BaseCommand

from shop.outbox import relay_pending


class Command(BaseCommand):
    help = "Publish pending outbox tasks to the broker, every --interval seconds, until stopped."

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between passes")
        parser.add_argument("--once", action="store_true", help="one pass, then exit")
        parser.add_argument("--batch", type=int, default=100, help="rows per pass at most")

    def handle(self, *args, interval, once, batch, **options):
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        while True:
            report = relay_pending(limit=batch)
            if report.sent or report.failed:
                self.stdout.write(f"relayed {len(report.sent)}, refused {len(report.failed)}")
            if once or stop.wait(interval):
                return
