-- Materialized views of the sample commerce schema, created once the data is in (so they are populated).
-- A report over personal columns: pg_restore fills it from the rows as they are restored, unmasked, so the
-- refresh must rebuild it from the masked tables (refreshes.masking.refresh_materialized_views).

CREATE MATERIALIZED VIEW marketing_audience AS
    SELECT c.id AS customer_id, c.email, c.first_name || ' ' || c.last_name AS full_name, c.phone,
           count(o.id) AS orders
    FROM customers c LEFT JOIN orders o ON o.customer_id = c.id
    WHERE c.marketing_opt_in
    GROUP BY c.id;

-- Read from the one above through a plain view: refreshed after it, or it would keep the unmasked rows.
CREATE VIEW marketing_audience_regulars AS SELECT * FROM marketing_audience WHERE orders > 0;
CREATE MATERIALIZED VIEW marketing_top_customers AS
    SELECT customer_id, email, orders FROM marketing_audience_regulars ORDER BY orders DESC, customer_id LIMIT 20;
