"""The time buckets of the chart counters: their sizes and how long Redis keeps each one.

The scripts (and, for outcomes, each worker process: ``store/tally.py``) count into one hash
per minute and one per hour (``keys.stats_minute`` and ``keys.stats_hour``), each expiring on
its own, so the counters' memory stays bounded;
``web/series.py`` reads them back.
"""

from __future__ import annotations

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
MINUTES_KEPT = 180  # per-minute counters cover the last 3 hours
HOURS_KEPT = 168  # per-hour outcome counters cover the last 7 days
# a bucket lives as long as it is shown, plus its own length and a minute of clock skew
MINUTE_TTL_S = (MINUTES_KEPT + 2) * 60
HOUR_TTL_S = (HOURS_KEPT + 1) * 3600 + 60
