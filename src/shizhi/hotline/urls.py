from django.urls import path

from shizhi.hotline.views import board, cases, desk, library, portal

app_name = "hotline"
urlpatterns = [
    # Citizens, without signing in
    path("portal/", portal.portal, name="portal"),
    path("portal/done/", portal.portal_done, name="portal_done"),
    path("portal/track/", portal.track, name="track"),
    path("portal/track/rate/", portal.rate, name="rate"),
    path("portal/districts.geojson", portal.districts_geojson, name="districts_geojson"),
    # Staff
    path("intake/", desk.intake, name="intake"),
    path("intake/similar/", desk.similar, name="similar"),
    path("dispatch/", desk.dispatch_queue, name="dispatch"),
    path("dispatch/merge/", desk.merge, name="merge"),
    path("inbox/", desk.inbox, name="inbox"),
    path("board/", board.board, name="board"),
    path("cases/", cases.case_list, name="case_list"),
    path("cases/<int:case_id>/", cases.case_detail, name="case_detail"),
    path("cases/<int:case_id>/do/<slug:action>/", cases.case_action, name="case_action"),
    path("cases/<int:case_id>/files/<int:attachment_id>/", cases.attachment_file, name="attachment"),
    path("knowledge/", library.knowledge, name="knowledge"),
    path("knowledge/new/", library.knowledge_edit, name="knowledge_new"),
    path("knowledge/<int:article_id>/edit/", library.knowledge_edit, name="knowledge_edit"),
    path("catalogue/", library.catalogue, name="catalogue"),
    path("catalogue/rules/", library.rule_create, name="rule_create"),
    path("catalogue/rules/<int:rule_id>/delete/", library.rule_delete, name="rule_delete"),
]
