-- The schema's constraints hold in every clone; each test's writes stay in its own clone.
INSERT INTO customers (id, email, full_name) VALUES (1, 'ada@example.com', 'Ada');
INSERT INTO products (id, sku, name, price, category_id) VALUES (1, 'B-1', 'Book', 20.00, 1);
INSERT INTO orders (id, customer_id, total) VALUES (1, 1, 40.00);
INSERT INTO order_items (order_id, product_id, quantity, unit_price) VALUES (1, 1, 2, 20.00);
SELECT o.id, c.full_name, SUM(i.quantity * i.unit_price) FROM orders o
JOIN customers c ON c.id = o.customer_id JOIN order_items i ON i.order_id = o.id
GROUP BY o.id, c.full_name;
INSERT INTO customers (id, email, full_name) VALUES (2, 'ada@example.com', 'Other'); -- { serverError SQLITE_CONSTRAINT_UNIQUE, unique_violation, ER_DUP_ENTRY }
SELECT COUNT(*) FROM customers;
