import pytest
import sqlalchemy as sa

from shop.models import Customer
from shop.service import register


def test_register_customer(session):
    customer = register(session, "ada@example.com", "Ada Lovelace")
    session.commit()
    assert customer.loyalty_points == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(Customer)) == 1


def test_each_test_starts_empty(session):
    assert session.scalar(sa.select(sa.func.count()).select_from(Customer)) == 0


def test_email_is_unique(session):
    register(session, "bob@example.com", "Bob")
    with pytest.raises(sa.exc.IntegrityError):
        register(session, "bob@example.com", "Robert")


def test_renamed_column_is_full_name(session):
    columns = {c["name"] for c in sa.inspect(session.bind).get_columns("customers")}
    assert "full_name" in columns and "name" not in columns
