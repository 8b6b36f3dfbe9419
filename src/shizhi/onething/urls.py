from django.urls import path

from shizhi.onething.views import applications, guide, inbox, manage, promotion

app_name = "onething"
urlpatterns = [
    # Citizens: the service guide is open to everyone; applying needs signing in.
    path("", guide.guide, name="guide"),
    path("items/<str:code>/", guide.item, name="item"),
    path("items/<str:code>/apply/", guide.apply, name="apply"),
    path("applications/", applications.application_list, name="applications"),
    path("applications/<int:application_id>/", applications.application_detail, name="application"),
    path(
        "applications/<int:application_id>/do/<slug:action>/",
        applications.application_action,
        name="application_action",
    ),
    path(
        "applications/<int:application_id>/files/<int:material_id>/",
        applications.application_file,
        name="application_file",
    ),
    # Departments
    path("inbox/", inbox.inbox, name="inbox"),
    path("subtasks/<int:subtask_id>/", inbox.subtask_detail, name="subtask"),
    path("subtasks/<int:subtask_id>/do/<slug:action>/", inbox.subtask_action, name="subtask_action"),
    path("subtasks/<int:subtask_id>/files/<str:material_key>/", inbox.subtask_file, name="subtask_file"),
    # The list office
    path("manage/", manage.item_list, name="manage"),
    path("manage/new/", manage.item_new, name="manage_new"),
    path("manage/<str:code>/", manage.item_manage, name="manage_item"),
    path("manage/<str:code>/draft/", manage.version_new, name="version_new"),
    path("manage/<str:code>/diff/", manage.version_diff, name="version_diff"),
    path("manage/<str:code>/v<int:number>/", manage.version_edit, name="version_edit"),
    path("manage/<str:code>/v<int:number>/do/<slug:action>/", manage.version_action, name="version_action"),
    # Standing promotion
    path("promotion/", promotion.dashboard, name="promotion"),
    path("promotion/rollouts/<int:rollout_id>/", promotion.rollout_detail, name="rollout"),
    path(
        "promotion/rollouts/<int:rollout_id>/do/<slug:action>/",
        promotion.rollout_action,
        name="rollout_action",
    ),
    path("promotion/report/", promotion.report, name="report"),
    path("promotion/report.xlsx", promotion.report_xlsx, name="report_xlsx"),
]
