"""Capacity of the off-site link, measured: how much write load region B keeps up with.

On a running lab (``GOVCLOUD_LAB_NAME``, deployed), region A's primary writes at a
stepped rate (MB/s of ~1 kB rows, committed every 100 ms, paced by the server's clock);
per step the bench prints the WAL bytes/s actually generated, region B's replay lag
(seconds and bytes, sampled every second from ``pg_stat_replication`` on the primary;
the bytes also as seconds of link time, since ``replay_lag`` under-reads while the link
is the bottleneck: see roles/monitoring) and whether both stayed under the tier's
``offsite_rpo_seconds``. It ends with the
highest sustained WAL rate that kept the lag under the target, beside the shaped
bandwidth of the inter-region link (both measured or read in the same run: the link is
the tbf rate the lab applies from ``estate/sites.yaml``).

Usage (root, lab up): ``.venv/bin/python bench/dr_link.py [--steps 2,4,6,8,10,12,14]
[--seconds 30]``. Every statement runs on the lab's primary; the table is truncated
after each step and dropped at the end; each step stops by itself
(``statement_timeout``).
"""

from __future__ import annotations

import argparse
import shlex
import sys
import threading
import time
from typing import Any

TICKS_PER_SECOND = 10


def main() -> int:
    from govcloud import datatier
    from govcloud.drills.peak import ROW_BYTES, lag_sql
    from govcloud.lab import Lab

    p = argparse.ArgumentParser()
    p.add_argument("--steps", default="2,4,6,8,10,12,14", help="MB/s of table data")
    p.add_argument("--seconds", type=int, default=30, help="per step")
    args = p.parse_args()
    lab = Lab()
    if not lab.is_up():
        print(f"lab {lab.name} is not up (govcloud lab up; govcloud lab deploy)", file=sys.stderr)
        return 2
    topo = lab.topology
    layout = datatier.layout(topo.estate, topo.hosts)
    target = layout.tier.offsite_rpo_seconds
    standbys = [m.name for m in layout.dr_members]

    def psql(host: str, *sql: str, timeout: float = 60) -> str:
        cmd = "runuser -u postgres -- psql -XAtq -d postgres " + " ".join(
            f"-c {shlex.quote(s)}" for s in sql)
        res = lab.exec_on(host, cmd, timeout=timeout)
        if res.returncode != 0:
            raise RuntimeError(f"{host}: {res.stderr.strip()}")
        return res.stdout.strip()

    primary = next((m for m in layout.primary_region_members
                    if psql(m.name, "select pg_is_in_recovery()") == "f"), None)
    if primary is None:
        print("no writable member in region A", file=sys.stderr)
        return 2
    link = layout.offsite_links(topo.estate, primary.site)[0]

    def lag() -> tuple[float, float]:
        s, b = psql(primary.name, lag_sql(standbys)).split("|")
        return float(s), float(b)

    def drain(limit: float = 180) -> float:
        t0 = time.monotonic()
        while time.monotonic() - t0 < limit and lag()[1] > 1e6:
            time.sleep(1)
        return time.monotonic() - t0

    link_mb = float(link.bandwidth) / 8
    print(f"primary {primary.name}; off-site standby(s) {', '.join(standbys)}; link "
          f"{link.name} shaped to {link.bandwidth} Mbit/s = {link_mb:.2f} MB/s; target: "
          f"lag < {target}s ({layout.tier.name}.offsite_rpo_seconds)")
    psql(primary.name, "drop table if exists govcloud_link_bench",
         "create table govcloud_link_bench (id bigint, payload text)")
    rows: list[tuple[float, float, float, float, bool]] = []
    try:
        drain()
        print(f"{'step MB/s':>10} {'WAL MB/s':>9} {'replay lag s':>13} {'backlog MB':>11} "
              f"{'backlog s':>10} {'end MB':>7}  sustained")
        for rate in [float(x) for x in args.steps.split(",")]:
            per_tick = max(1, int(rate * 1024 * 1024 / ROW_BYTES / TICKS_PER_SECOND))
            writer = (
                "do $$ declare t0 timestamptz := clock_timestamp(); i int := 0; begin "
                f"while clock_timestamp() < t0 + interval '{args.seconds} seconds' loop "
                "insert into govcloud_link_bench select g, repeat(md5(g::text), 32) "
                f"from generate_series(1, {per_tick}) g; commit; i := i + 1; "
                "perform pg_sleep(greatest(0, extract(epoch from t0 + i * interval "
                f"'{1000 // TICKS_PER_SECOND} ms' - clock_timestamp()))); end loop; end $$")
            lsn0 = psql(primary.name, "select pg_current_wal_lsn()")
            t0 = time.monotonic()
            errors: list[str] = []

            def write(w: str = writer, errors: list[str] = errors) -> None:
                try:
                    psql(primary.name, f"set statement_timeout = '{args.seconds + 30}s'", w,
                         timeout=args.seconds + 60)
                except RuntimeError as exc:
                    errors.append(str(exc))

            th = threading.Thread(target=write)
            th.start()
            samples: list[tuple[float, float]] = []
            while th.is_alive():
                samples.append(lag())
                time.sleep(1)
            th.join()
            elapsed = time.monotonic() - t0
            if errors:
                print(f"step {rate}: {errors[0]}", file=sys.stderr)
                return 1
            wal = float(psql(primary.name, f"select pg_wal_lsn_diff(pg_current_wal_lsn(), "
                                           f"'{lsn0}')"))
            end = lag()
            max_s = max([s for s, _ in samples] + [end[0]])
            max_b = max([b for _, b in samples] + [end[1]])
            backlog_s = max_b / 1e6 / link_mb
            # sustained: under the target throughout, and not still growing at the step's
            # end (a backlog above one second of link time means the link fell behind)
            bounded = max(max_s, backlog_s) < target and end[1] / 1e6 / link_mb < 1.0
            rows.append((rate, wal / elapsed / 1e6, max_s, max_b / 1e6, bounded))
            print(f"{rate:>10.1f} {wal / elapsed / 1e6:>9.2f} {max_s:>13.2f} "
                  f"{max_b / 1e6:>11.1f} {backlog_s:>10.2f} {end[1] / 1e6:>7.1f}  "
                  f"{'yes' if bounded else 'NO'}")
            psql(primary.name, "truncate govcloud_link_bench")
            drain()
    finally:
        psql(primary.name, "drop table if exists govcloud_link_bench")
    ok = [r for r in rows if r[4]]
    best: Any = max(ok, key=lambda r: r[1]) if ok else None
    if best is None:
        print(f"no step was sustained with the lag under {target}s")
    else:
        print(f"highest sustained WAL rate with lag < {target}s: {best[1]:.2f} MB/s "
              f"(step {best[0]:.0f} MB/s of rows) = {best[1] / link_mb:.2f} x the link's "
              f"shaped {link_mb:.2f} MB/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
