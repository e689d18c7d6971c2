"""A correct test: it makes the data it reads, in a database of its own."""

import sqlalchemy as sa


def test_counts_what_it_made(toolkit_db):
    with toolkit_db.engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO parent (id, name) VALUES (2, 'ada'), (3, 'bob')"))
        names = conn.execute(sa.text("SELECT name FROM parent WHERE id > 1 ORDER BY id"))
        assert names.scalars().all() == ["ada", "bob"]
