"""The shop's business rules, the code its integration tests exercise."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shop.models import Coupon, Customer, Order, OrderItem, Product


def register(session: Session, email: str, full_name: str) -> Customer:
    customer = Customer(email=email, full_name=full_name)
    session.add(customer)
    session.flush()
    return customer


def place_order(session: Session, customer: Customer, lines: dict[str, int],
                coupon: str | None = None) -> Order:
    """An order for ``{sku: quantity}``; the total applies the coupon's discount."""
    order = Order(customer=customer, coupon_code=coupon)
    session.add(order)
    total = Decimal(0)
    for sku, quantity in lines.items():
        product = session.scalars(sa.select(Product).where(Product.sku == sku)).one()
        order.items.append(OrderItem(product_id=product.id, quantity=quantity,
                                     unit_price=product.price))
        total += product.price * quantity
    if coupon:
        percent = session.get_one(Coupon, coupon).percent_off
        total = (total * (100 - percent) / 100).quantize(Decimal("0.01"))
    order.total = total
    customer.loyalty_points += int(total)
    session.flush()
    return order
