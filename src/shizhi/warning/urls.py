from django.urls import path

from shizhi.warning import views

app_name = "warning"
urlpatterns = [
    path("", views.board, name="board"),
    path("risk/", views.risk, name="risk"),
    path("alerts/<int:alert_id>/", views.alert_detail, name="alert_detail"),
    path("alerts/<int:alert_id>/do/<slug:action>/", views.alert_action, name="alert_action"),
]
