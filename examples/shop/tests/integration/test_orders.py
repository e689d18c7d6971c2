from decimal import Decimal

import pytest
import sqlalchemy as sa

from shop.models import Coupon, Order, Product
from shop.service import place_order, register


@pytest.fixture
def catalog(session):
    session.add_all([
        Product(sku="B-1", name="SQL for Testers", price=Decimal("20.00"), category_id=1),
        Product(sku="G-1", name="Chess", price=Decimal("35.50"), category_id=2),
        Coupon(code="TENOFF", percent_off=10),
    ])
    session.flush()


def test_order_total(session, catalog):
    ada = register(session, "ada@example.com", "Ada")
    order = place_order(session, ada, {"B-1": 2, "G-1": 1})
    session.commit()
    assert session.get(Order, order.id).total == Decimal("75.50")
    assert ada.loyalty_points == 75


def test_coupon_discount(session, catalog):
    ada = register(session, "ada@example.com", "Ada")
    order = place_order(session, ada, {"G-1": 2}, coupon="TENOFF")
    assert order.total == Decimal("63.90")


def test_unknown_coupon_violates_foreign_key(session, catalog):
    ada = register(session, "ada@example.com", "Ada")
    session.add(Order(customer_id=ada.id, coupon_code="NOPE"))
    with pytest.raises(sa.exc.IntegrityError):
        session.flush()


def test_products_start_with_house_supplier_seed(session):
    names = session.scalars(sa.text("SELECT name FROM suppliers")).all()
    assert names == ["house brand"]
