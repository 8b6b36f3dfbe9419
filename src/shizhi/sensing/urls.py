from django.urls import path

from shizhi.sensing import views

app_name = "sensing"
urlpatterns = [
    path("", views.device_map, name="device_map"),
    path("devices/<str:code>/", views.device_detail, name="device_detail"),
    path("devices/<str:code>/status/", views.device_status, name="device_status"),
    path("devices/<str:code>/token/", views.device_token, name="device_token"),
]
