"""MariaDB/MySQL, applied with SET SESSION on the test's connection (one per test).

optimizer_switch flags turn join and access methods on and off: the plan changes, and with it
the order of rows a query without ORDER BY returns, never the rows. join_buffer_size and
sort_buffer_size change when joins and sorts use more passes or spill, not their results.
"""

SETTINGS = {
    "optimizer_switch": ("index_merge=on", "index_merge=off", "derived_merge=off",
                         "join_cache_hashed=off", "mrr=on"),
    "join_buffer_size": ("128", "262144", "8388608"),
    "sort_buffer_size": ("32768", "2097152", "16777216"),
}
