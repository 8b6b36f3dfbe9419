from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from shizhi.api import api
from shizhi.core.views import healthz

admin.site.site_header = _("市治 · 系统管理")
admin.site.site_title = _("市治管理后台")
admin.site.index_title = _("数据管理")

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/v1/", api.urls),
    path("login/", auth_views.LoginView.as_view(template_name="cockpit/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("core/", include("shizhi.core.urls")),
    path("open311/v2/", include("shizhi.hotline.open311_urls")),
    path("hotline/", include("shizhi.hotline.urls")),
    path("ai/", include("shizhi.ai.urls")),
    path("onething/", include("shizhi.onething.urls")),
    path("sensing/", include("shizhi.sensing.urls")),
    path("warning/", include("shizhi.warning.urls")),
    path("", include("shizhi.cockpit.urls")),
]
