import factory

from workflows.models import PurchaseRequest, TransferRequest


class PurchaseRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PurchaseRequest

    quantity = 1
    reason = "for the line"


class TransferRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TransferRequest

    quantity = 1
    reason = "rebalance"
