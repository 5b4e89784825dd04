"""gunicorn settings: the embedded PostgreSQL belongs to the master, workers only connect to it."""

import os
from pathlib import Path

bind = os.environ.get("FAIRDB_BIND", f"127.0.0.1:{os.environ.get('PORT', '5000')}")
workers = int(os.environ.get("FAIRDB_WORKERS", "2"))
threads = int(os.environ.get("FAIRDB_THREADS", "4"))
worker_class = "gthread"
timeout = int(os.environ.get("FAIRDB_TIMEOUT", "300"))
graceful_timeout = 30
accesslog = None  # fairdb logs each request itself, as JSON with its request id
errorlog = "-"
forwarded_allow_ips = os.environ.get("FAIRDB_FORWARDED_ALLOW_IPS", "127.0.0.1")
control_socket_disable = True

_embedded_instance: Path | None = None


def on_starting(server: object) -> None:
    """Without FAIRDB_DATABASE_URL, start the embedded server once, before any worker forks."""
    global _embedded_instance
    if os.environ.get("FAIRDB_DATABASE_URL"):
        return
    from fairdb import config, embedded

    instance = Path(os.environ.get("FAIRDB_INSTANCE_PATH", config.ROOT / "instance")).resolve()
    os.environ["FAIRDB_DATABASE_URL"] = embedded.start(instance)
    _embedded_instance = instance


def on_exit(server: object) -> None:
    """Stop the embedded server cleanly when gunicorn stops."""
    if _embedded_instance is not None:
        from fairdb import embedded

        embedded.stop(_embedded_instance)
