"""`python manage.py replenish`: evaluate every active reorder rule now (SPEC §15)."""

from collections import Counter

from django.core.management.base import BaseCommand

from workflows.services import evaluate_active_rules


class Command(BaseCommand):
    """`replenish`: one line per active rule (its outcome) and a summary; a held rule stays held."""

    help = ("Evaluate every active reorder rule, as the worker does hourly: below min_quantity projected and no "
            "open transfer, create its transfer request. Prints one line per rule and a summary.")

    def handle(self, *args, **options):
        results = evaluate_active_rules()
        outcomes = Counter()
        for rule, evaluation in results:
            if evaluation is None:
                outcomes["failed"] += 1
                self.stdout.write(f"rule {rule.pk} (warehouse {rule.warehouse_id}, product {rule.product_id}): "
                                  "failed (see the log)")
                continue
            outcomes[evaluation.outcome] += 1
            transfer = f", transfer request {evaluation.transfer_request}" if evaluation.transfer_request else ""
            self.stdout.write(f"rule {rule.pk} (warehouse {rule.warehouse_id}, product {rule.product_id}): "
                              f"{evaluation.outcome}, projected {evaluation.projected}, proposed "
                              f"{evaluation.proposed}{transfer}")
        summary = ", ".join(f"{outcome} {count}" for outcome, count in sorted(outcomes.items())) or "nothing to do"
        self.stdout.write(self.style.SUCCESS(f"{len(results)} active rule(s) evaluated: {summary}."))
