"""Server-rendered pages of the core app, and the health check."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, JsonResponse


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and database state, for load balancers and ``make demo``: 200 when the database answers."""
    db: dict[str, object] = {"vendor": connection.vendor}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        from django.db.migrations.executor import MigrationExecutor

        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        db.update(status="ok", pending_migrations=len(pending))
        status = 200
    except Exception as exc:  # any database failure means "not healthy", and says why
        db.update(status="error", error=str(exc)[:200])
        status = 503
    return JsonResponse({"status": "ok" if status == 200 else "error", "database": db}, status=status)
