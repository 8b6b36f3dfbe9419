from django.urls import path

from shizhi.core import views

app_name = "core"
urlpatterns = [
    path("areas/", views.area_index, name="area_index"),
    path("areas/<int:area_id>/", views.area_detail, name="area_detail"),
    path("units/", views.unit_list, name="unit_list"),
    path("units/<int:unit_id>/", views.unit_detail, name="unit_detail"),
    path("audit/", views.audit, name="audit"),
    path("calendar/", views.calendar, name="calendar"),
    path("account/", views.account, name="account"),
]
