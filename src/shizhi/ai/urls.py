from django.urls import path

from shizhi.ai import views

app_name = "ai"
urlpatterns = [
    path("models/", views.model_list, name="model_list"),
    path("models/<int:model_id>/", views.model_detail, name="model_detail"),
    path("models/<int:model_id>/activate/", views.model_activate, name="model_activate"),
]
