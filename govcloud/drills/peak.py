"""The month-end peak (``estate/dr-tiers.yaml`` ``peak_load``) run against region A.

Why one place: the lab suite's lag-alert test and the drills under peak load write the
same batch, so the load the alert fired under is the load the drill measured its RPO
under. The batch is one statement (a multi-hundred-MB insert of ~1 kB rows into a table
of its own), so it commits entirely or not at all, and ``statement_timeout`` ends it
after the model's ``max_seconds``: it stops by itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from govcloud.model.schema import BatchLoad

TABLE = "govcloud_peak_batch"
ROW_BYTES = 1024  # repeat(md5(...), 32)


def batch_sql(batch: BatchLoad, table: str = TABLE) -> str:
    """The batch as one implicit transaction (psql ``-c``)."""
    rows = batch.megabytes * 1024 * 1024 // ROW_BYTES
    return (f"SET statement_timeout = '{batch.max_seconds}s'; "
            f"DROP TABLE IF EXISTS {table}; "
            f"CREATE TABLE {table} (id int, payload text); "
            f"INSERT INTO {table} SELECT g, repeat(md5(g::text), 32) "
            f"FROM generate_series(1, {rows}) g;")


def drop_sql(table: str = TABLE) -> str:
    return f"DROP TABLE IF EXISTS {table}"


def lag_sql(standbys: list[str]) -> str:
    """Seconds and bytes region B's standby(s) replay behind the primary (worst one)."""
    names = ",".join(f"'{s}'" for s in standbys)
    return ("SELECT coalesce(max(extract(epoch FROM replay_lag)), 0), "
            "coalesce(max(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)), 0) "
            f"FROM pg_stat_replication WHERE application_name IN ({names})")


@dataclass
class PeakFigures:
    """What the drill records about the peak: WAL generated up to the cut, region B's
    backlog at the cut, and the link it had to cross."""

    batch_megabytes: int
    primary: str
    link_mbps: float
    started: float | None = None
    lsn_start: str | None = None
    wal_bytes_to_cut: float | None = None
    seconds_to_cut: float | None = None
    lag_seconds_at_cut: float | None = None
    lag_bytes_at_cut: float | None = None
    batch_error: str | None = None

    @property
    def wal_mb_per_second(self) -> float | None:
        if not self.wal_bytes_to_cut or not self.seconds_to_cut:
            return None
        return self.wal_bytes_to_cut / self.seconds_to_cut / 1e6

    @property
    def link_mb_per_second(self) -> float:
        return self.link_mbps / 8
