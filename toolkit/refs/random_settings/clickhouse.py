"""ClickHouse, per test as query settings (chDB: SET in the test's session), as ClickHouse's own
runner randomizes them.

max_threads and max_insert_threads change parallelism, so rows of a query without ORDER BY
arrive in another order. max_block_size changes how data is cut into blocks, within the range
ClickHouse's own runner draws from (8000 to 100000): tiny blocks would fail correct tests whose
limits are per block by design (range()'s function_range_max_elements_in_block).
optimize_read_in_order and group_by_two_level_threshold pick other plans for ORDER BY and
GROUP BY: same rows, another order of unordered results.
"""

SETTINGS = {
    "max_threads": ("1", "2", "16"),
    "max_block_size": ("8000", "32768", "65505", "100000"),
    "max_insert_threads": ("0", "1", "4"),
    "optimize_read_in_order": ("0", "1"),
    "group_by_two_level_threshold": ("1", "100", "100000"),
}
