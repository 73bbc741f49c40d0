-- The product dimension that GET /api/1.0/products serves. IF NOT EXISTS: databases set up by
-- the runner products had before goose (same schema, no goose_db_version) take this as their
-- baseline. No rows: the dev data set is seed/dev_products.sql, added only with DB_SEED=true.

-- +goose Up
CREATE SCHEMA IF NOT EXISTS core;

CREATE TABLE IF NOT EXISTS core.dim_product (
    product_id integer PRIMARY KEY,
    sku        text NOT NULL UNIQUE,
    name       text NOT NULL,
    category   text NOT NULL,
    list_price numeric(10, 2) NOT NULL CHECK (list_price >= 0)
);

-- +goose Down
DROP TABLE IF EXISTS core.dim_product;
DROP SCHEMA IF EXISTS core;
