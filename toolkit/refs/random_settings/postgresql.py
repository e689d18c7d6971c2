"""PostgreSQL, applied with set_config() on the test's session (DISCARD ALL ends them).

The enable_* planner switches never make a plan wrong, only cost it differently. Turning a
method off moves the planner to another join, aggregation or scan, and so to another order of
rows wherever the query has no ORDER BY. work_mem changes when sorts and hashes spill, and jit
changes how expressions run: neither changes results. parallel_setup_cost=0 with
max_parallel_workers_per_gather=2 invites parallel plans, whose gathered rows arrive in any
order.

A switch turned off adds a huge "disable cost" to plans, which makes every query look costly
enough to JIT-compile (10-30 ms each, and nothing learned): jit is off in such a draw.
"""

SETTINGS = {
    "enable_seqscan": ("on", "off"),
    "enable_hashagg": ("on", "off"),
    "enable_hashjoin": ("on", "off"),
    "enable_mergejoin": ("on", "off"),
    "enable_sort": ("on", "off"),
    "work_mem": ("64kB", "4MB", "64MB"),
    "jit": ("on", "off"),
    "parallel_setup_cost": ("0", "1000"),
    "max_parallel_workers_per_gather": ("0", "2"),
}


def adjust(drawn: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """No JIT when a planner method is off (see above)."""
    if any(name.startswith("enable_") and value == "off" for name, value in drawn):
        return tuple((name, "off" if name == "jit" else value) for name, value in drawn)
    return drawn
