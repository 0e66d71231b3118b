-- Keys and indexes of the sample commerce schema, added after the bulk load (faster than loading into them).

CREATE UNIQUE INDEX customers_email_key ON customers (email);
ALTER TABLE addresses ADD CONSTRAINT addresses_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id);
ALTER TABLE payment_methods ADD CONSTRAINT payment_methods_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id);
CREATE UNIQUE INDEX rituals_slug_key ON rituals (slug);
CREATE UNIQUE INDEX moods_slug_key ON moods (slug);
CREATE UNIQUE INDEX products_sku_key ON products (sku);
ALTER TABLE products ADD CONSTRAINT products_ritual_fk FOREIGN KEY (ritual_id) REFERENCES rituals (id);
ALTER TABLE products ADD CONSTRAINT products_mood_fk FOREIGN KEY (mood_id) REFERENCES moods (id);
ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id);
ALTER TABLE orders ADD CONSTRAINT orders_address_fk FOREIGN KEY (shipping_address_id) REFERENCES addresses (id);
CREATE INDEX orders_customer_idx ON orders (customer_id);
ALTER TABLE order_items ADD CONSTRAINT order_items_order_fk FOREIGN KEY (order_id) REFERENCES orders (id);
ALTER TABLE order_items ADD CONSTRAINT order_items_product_fk FOREIGN KEY (product_id) REFERENCES products (id);
CREATE INDEX order_items_order_idx ON order_items (order_id);
ALTER TABLE carts ADD CONSTRAINT carts_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id);
ALTER TABLE carts ADD CONSTRAINT carts_order_fk FOREIGN KEY (order_id) REFERENCES orders (id);
CREATE INDEX carts_created_idx ON carts (created_at);
ALTER TABLE reviews ADD CONSTRAINT reviews_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id);
ALTER TABLE reviews ADD CONSTRAINT reviews_product_fk FOREIGN KEY (product_id) REFERENCES products (id);
ALTER TABLE wishlists ADD CONSTRAINT wishlists_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id);
ALTER TABLE wishlists ADD CONSTRAINT wishlists_product_fk FOREIGN KEY (product_id) REFERENCES products (id);
ALTER TABLE newsletter_subscriptions ADD CONSTRAINT newsletter_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id);
ALTER TABLE sessions ADD CONSTRAINT sessions_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id);
ALTER TABLE auth_tokens ADD CONSTRAINT auth_tokens_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id);
