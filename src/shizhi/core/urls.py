from django.urls import path

from shizhi.core import views

app_name = "core"
urlpatterns: list = []
