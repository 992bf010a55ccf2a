"""POST /api/invoices/ {"customer": ID, "amount_cents": N}: a new invoice, charged in the background."""

import json

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing.models import Customer, Invoice
from billing.tasks import charge_invoice


@csrf_exempt
@require_POST
def create_invoice(request):
    body = json.loads(request.body or b"{}")
    customer = Customer.objects.filter(pk=body.get("customer")).first()
    if customer is None:
        return JsonResponse({"error": "unknown customer"}, status=404)
    invoice = Invoice.objects.create(customer=customer, amount_cents=int(body.get("amount_cents", 0)))
    result = charge_invoice.delay(invoice.pk)
    return JsonResponse({"invoice": invoice.pk, "task": result.id}, status=202)
