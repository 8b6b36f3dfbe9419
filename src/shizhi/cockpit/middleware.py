"""Page language (界面语言): Chinese unless the user picked another language with the switcher."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.middleware.locale import LocaleMiddleware
from django.utils import translation

# The programming interfaces answer in the platform's language (LANGUAGE_CODE) whatever a browser chose: their
# messages and labels are read by other programs and are not translated (an error message that quoted a
# translated role name would otherwise come out half Chinese, half English).
API_PREFIXES = ("/api/", "/open311/")


class ChosenLanguageMiddleware(LocaleMiddleware):
    """Like Django's ``LocaleMiddleware``, but without the browser's ``Accept-Language``: a government platform
    shows its own language (``LANGUAGE_CODE``, 简体中文) to everyone, and English only to whoever chose it with
    the language switcher (``/i18n/setlang/`` sets the cookie). Otherwise an English-language browser would get
    the Django admin and form errors in English around Chinese pages. The API always uses ``LANGUAGE_CODE``."""

    def process_request(self, request: HttpRequest) -> None:
        code = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if code not in dict(settings.LANGUAGES) or request.path.startswith(API_PREFIXES):
            code = settings.LANGUAGE_CODE
        translation.activate(code)
        request.LANGUAGE_CODE = translation.get_language()
