"""One logging set-up for every provisioner process: the CLI, ``serve`` and its HTTP workers.

Text for a person at a shell, JSON (one object a line) for a log collector; both carry the same
fields: UTC time, level, logger, message (and the traceback, if any).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(log_format: str = "text", verbose: bool = False) -> None:
    """INFO on standard error (DEBUG with ``verbose``); called again, it replaces the set-up."""
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        text = logging.Formatter(TEXT_FORMAT)
        text.converter = time.gmtime  # UTC, as in the JSON lines
        handler.setFormatter(text)
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO, handlers=[handler], force=True
    )
    # Every command upgrades the schema first; its step-by-step report is noise unless asked for.
    logging.getLogger("alembic").setLevel(logging.NOTSET if verbose else logging.WARNING)
