"""Signals the hotline sends for other apps (the hotline itself never listens to them).

``case_status_changed``: a case moved from one status to another. Sent by ``services.common.record`` inside the
transaction that made the change, after the timeline entry was written, with ``case``, ``status_from``,
``status_to`` and ``actor`` (None for the system). A receiver's writes commit or roll back with the change; a
receiver that raises undoes it, so receivers must do little and only what belongs to the same change (the
warning app resolves the alert that opened a sensor case when the case is answered or closed).
"""

from __future__ import annotations

from django.dispatch import Signal

case_status_changed = Signal()
