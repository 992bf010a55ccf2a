from django.urls import path

from . import views

app_name = "shop"

urlpatterns = [
    path("orders/", views.place_order, name="place_order"),
    path("orders/durable/", views.place_order_durable, name="place_order_durable"),
    path("orders/<int:order_id>/", views.order_detail, name="order_detail"),
]
