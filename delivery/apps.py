from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    name = "delivery"
    verbose_name = "Delivery performance (DORA)"

    def ready(self):
        from core.dashboard import register_section
        from delivery.dashboard import delivery_lines

        register_section("delivery", order=40, lines=delivery_lines)
