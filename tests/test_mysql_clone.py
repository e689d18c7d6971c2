"""MariaDB/MySQL clones replay the saved DDL: foreign keys, views, triggers, routines and
rows all survive (CREATE TABLE … LIKE would silently lose the foreign keys)."""

import pytest
import sqlalchemy as sa

from tests.helpers import settings_for, write_project
from toolkit import clone, ensure_template

SCHEMA = [
    "CREATE TABLE authors (id INTEGER PRIMARY KEY AUTO_INCREMENT, name VARCHAR(50) NOT NULL)",
    "CREATE TABLE books (id INTEGER PRIMARY KEY, author_id INTEGER NOT NULL, title TEXT, "
    "CONSTRAINT fk_books_author FOREIGN KEY (author_id) REFERENCES authors (id) "
    "ON DELETE CASCADE)",
    "CREATE TABLE audit (id INTEGER PRIMARY KEY AUTO_INCREMENT, what VARCHAR(100))",
    "INSERT INTO authors (name) VALUES ('Ursula'), ('Iain')",
    "INSERT INTO books VALUES (1, 1, 'The Dispossessed'), (2, 2, 'Excession')",
    "CREATE VIEW book_titles AS SELECT b.title, a.name FROM books b JOIN authors a "
    "ON a.id = b.author_id",
    "CREATE TRIGGER books_audit AFTER INSERT ON books FOR EACH ROW "
    "BEGIN INSERT INTO audit (what) VALUES (CONCAT('book ', NEW.id)); END",
    "CREATE FUNCTION shout(s TEXT) RETURNS TEXT DETERMINISTIC RETURN UPPER(s)",
]


@pytest.fixture
def my(tmp_path, mysql_url):
    return settings_for(write_project(tmp_path / "lib", SCHEMA), mysql_url)


def test_foreign_keys_and_data_survive(my) -> None:
    with clone(my, ensure_template(my)) as db, db.engine.begin() as conn:
        fks = sa.inspect(conn).get_foreign_keys("books")
        assert [(fk["name"], fk["referred_table"]) for fk in fks] == [("fk_books_author",
                                                                       "authors")]
        assert conn.execute(sa.text("SELECT COUNT(*) FROM books")).scalar() == 2
        with pytest.raises(sa.exc.IntegrityError):
            conn.execute(sa.text("INSERT INTO books VALUES (3, 99, 'orphan')"))


def test_cascade_and_auto_increment_survive(my) -> None:
    with clone(my) as db, db.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM authors WHERE id = 1"))
        assert conn.execute(sa.text("SELECT COUNT(*) FROM books")).scalar() == 1
        conn.execute(sa.text("INSERT INTO authors (name) VALUES ('Octavia')"))
        assert conn.execute(sa.text("SELECT MAX(id) FROM authors")).scalar() == 3


def test_views_triggers_routines_bind_to_the_clone(my) -> None:
    tpl = ensure_template(my)
    with clone(my, tpl) as db, db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE books SET title = 'changed' WHERE id = 1"))
        titles = conn.execute(sa.text("SELECT title FROM book_titles")).scalars()
        assert set(titles) == {"Excession", "changed"}
        conn.execute(sa.text("INSERT INTO books VALUES (3, 2, 'Look to Windward')"))
        assert conn.execute(sa.text("SELECT what FROM audit")).scalars().all() == ["book 3"]
        assert conn.execute(sa.text("SELECT shout('hi')")).scalar() == "HI"
    with sa.create_engine(tpl.url).connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM audit")).scalar() == 0
