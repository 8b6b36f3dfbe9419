from django.apps import AppConfig


class CockpitConfig(AppConfig):
    name = "shizhi.cockpit"
    label = "cockpit"
    verbose_name = "城市驾驶舱"
