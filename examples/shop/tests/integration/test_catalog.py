import sqlalchemy as sa


def test_seeded_categories(session):
    names = session.scalars(sa.text("SELECT name FROM categories ORDER BY id")).all()
    assert names == ["books", "games", "garden"]


def test_shipments_were_renamed_to_deliveries(session):
    tables = set(sa.inspect(session.bind).get_table_names())
    assert "deliveries" in tables and "shipments" not in tables


def test_head_revision(session):
    assert session.scalar(sa.text("SELECT version_num FROM alembic_version")) == "0032"
