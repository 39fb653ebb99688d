"""Routes of the low-stock alerts API (kept apart from the stock routes)."""

urlpatterns = []
