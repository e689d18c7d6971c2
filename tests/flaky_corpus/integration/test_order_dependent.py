"""Deliberately flaky: test_reads_what_the_previous_test_left passes only when it runs right
after test_leaves_a_customer, whose data it reads from state the two share (here a module
variable, as a shared database or file would be)."""

import sqlalchemy as sa

shared = {"last_customer": None}


def test_leaves_a_customer(toolkit_db):
    with toolkit_db.engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO parent (id, name) VALUES (2, 'ada')"))
    shared["last_customer"] = "ada"


def test_reads_what_the_previous_test_left(toolkit_db):
    assert shared["last_customer"] == "ada"
    shared["last_customer"] = None
