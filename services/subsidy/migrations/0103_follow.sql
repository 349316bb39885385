-- Where subsidy stands in the feeds it follows (outcome's rate changes): a claim's rate moves
-- until payment is released, and a change recalculates it.
CREATE TABLE feed_cursor (
    id TEXT PRIMARY KEY,
    position BIGINT NOT NULL,
    update_time_micros BIGINT NOT NULL
);
