from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "shizhi.demo"
    label = "demo"
    verbose_name = "示范数据"
