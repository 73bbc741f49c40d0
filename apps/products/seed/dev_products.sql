-- The dev data set, added by `products migrate` when DB_SEED=true (dev stacks, local runs,
-- tests), after the migrations. ON CONFLICT DO NOTHING: a changed row is kept, a deleted one
-- comes back at the next deploy. Prod (DB_SEED unset) gets none of these rows.
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
