-- The product dimension that GET /api/1.0/products serves, with its seed rows.
-- Idempotent: every statement can run again on a database that already has it.
CREATE SCHEMA IF NOT EXISTS core;

CREATE TABLE IF NOT EXISTS core.dim_product (
    product_id integer PRIMARY KEY,
    sku        text NOT NULL UNIQUE,
    name       text NOT NULL,
    category   text NOT NULL,
    list_price numeric(10, 2) NOT NULL CHECK (list_price >= 0)
);

INSERT INTO core.dim_product (product_id, sku, name, category, list_price) VALUES
    (1, 'MT-1001', 'Trail running shoes', 'Footwear', 129.00),
    (2, 'MT-1002', 'Rain shell jacket', 'Outerwear', 189.50),
    (3, 'MT-1003', 'Merino base layer', 'Apparel', 74.95),
    (4, 'MT-1004', 'Hydration vest', 'Packs', 99.00),
    (5, 'MT-1005', 'Headlamp 400 lm', 'Electronics', 45.25),
    (6, 'MT-1006', 'Trekking poles', 'Gear', 119.00),
    (7, 'MT-1007', 'Insulated bottle', 'Gear', 32.00),
    (8, 'MT-1008', 'GPS watch', 'Electronics', 349.99),
    (9, 'MT-1009', 'Compression socks', 'Apparel', 19.90),
    (10, 'MT-1010', 'Ultralight tent', 'Shelter', 449.00)
ON CONFLICT (product_id) DO NOTHING;
