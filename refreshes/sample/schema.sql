-- A sample of the AMARISÉ storefront's commerce database, for tests, demos and benchmarks.
-- Tables only: keys and indexes are in constraints.sql, added after a bulk load.

CREATE TABLE customers (
    id bigint PRIMARY KEY,
    email text NOT NULL,
    first_name text NOT NULL,
    last_name text NOT NULL,
    phone text,
    birth_date date,
    password_hash text NOT NULL,
    marketing_opt_in boolean NOT NULL DEFAULT false,
    last_login_ip inet,
    created_at timestamptz NOT NULL
);

CREATE TABLE addresses (
    id bigint PRIMARY KEY,
    customer_id bigint NOT NULL,
    line1 text NOT NULL,
    line2 text,
    city text NOT NULL,
    postal_code text NOT NULL,
    country char(2) NOT NULL,
    phone text
);

CREATE TABLE payment_methods (
    id bigint PRIMARY KEY,
    customer_id bigint NOT NULL,
    provider text NOT NULL,
    provider_id text NOT NULL,
    card_fingerprint text NOT NULL,
    last4 char(4) NOT NULL,
    exp_month smallint NOT NULL,
    exp_year smallint NOT NULL
);

CREATE TABLE rituals (
    id integer PRIMARY KEY,
    slug text NOT NULL,
    name text NOT NULL
);

CREATE TABLE moods (
    id integer PRIMARY KEY,
    slug text NOT NULL,
    name text NOT NULL
);

CREATE TABLE products (
    id bigint PRIMARY KEY,
    sku text NOT NULL,
    title text NOT NULL,
    description text NOT NULL,
    price_cents integer NOT NULL,
    ritual_id integer,
    mood_id integer,
    created_at timestamptz NOT NULL
);

CREATE TABLE orders (
    id bigint PRIMARY KEY,
    customer_id bigint NOT NULL,
    shipping_address_id bigint,
    status text NOT NULL,
    contact_email text NOT NULL,
    total_cents integer NOT NULL,
    payment_provider_id text,
    gift_message text,
    placed_at timestamptz NOT NULL
);

-- A cart moves created -> checkout_started -> paid (order_id set), or is abandoned on the way; the monitoring
-- catalog's cart abandonment and checkout completion rates are read from here by postgres-exporter.
CREATE TABLE carts (
    id bigint PRIMARY KEY,
    customer_id bigint,
    session_key text NOT NULL,
    contact_email text,
    status text NOT NULL,
    total_cents integer NOT NULL,
    order_id bigint,
    created_at timestamptz NOT NULL,
    checkout_started_at timestamptz,
    updated_at timestamptz NOT NULL
);

CREATE TABLE order_items (
    id bigint PRIMARY KEY,
    order_id bigint NOT NULL,
    product_id bigint NOT NULL,
    quantity smallint NOT NULL,
    unit_price_cents integer NOT NULL
);

CREATE TABLE reviews (
    id bigint PRIMARY KEY,
    customer_id bigint NOT NULL,
    product_id bigint NOT NULL,
    rating smallint NOT NULL,
    body text NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE TABLE wishlists (
    id bigint PRIMARY KEY,
    customer_id bigint NOT NULL,
    product_id bigint NOT NULL,
    added_at timestamptz NOT NULL
);

CREATE TABLE newsletter_subscriptions (
    id bigint PRIMARY KEY,
    email text NOT NULL,
    customer_id bigint,
    source text NOT NULL,
    subscribed_at timestamptz NOT NULL
);

CREATE TABLE sessions (
    id bigint PRIMARY KEY,
    customer_id bigint NOT NULL,
    session_key text NOT NULL,
    ip_address inet,
    user_agent text,
    expires_at timestamptz NOT NULL
);

CREATE TABLE auth_tokens (
    id bigint PRIMARY KEY,
    customer_id bigint NOT NULL,
    token text NOT NULL,
    kind text NOT NULL,
    expires_at timestamptz NOT NULL
);
