"""SQLite, applied with PRAGMA on the test's connection.

- reverse_unordered_selects: scans tables and indexes backwards, so rows come out in another
  order wherever a query has no ORDER BY. A correct test orders what it prints.
- cache_size: pages kept in memory; it changes speed only.
- automatic_index: whether the planner may build a temporary index for a join; it changes the
  plan, and with it the order of unordered results, never the rows.
"""

SETTINGS = {
    "reverse_unordered_selects": ("0", "1"),
    "cache_size": ("-2000", "10", "100000"),
    "automatic_index": ("0", "1"),
}
