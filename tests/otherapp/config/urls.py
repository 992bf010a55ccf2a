from django.urls import path

from billing import views

urlpatterns = [path("api/invoices/", views.create_invoice)]
