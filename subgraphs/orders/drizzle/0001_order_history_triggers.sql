-- The history row of every status change is written by the database in the same statement as the
-- change itself: a status change and its history can never part, and placing an order saves a
-- round trip per transition (issue 10: statements per order). Single-statement bodies, so the
-- migration runner's split on ';' at a line end keeps each trigger whole.
CREATE TRIGGER order_events_on_insert AFTER INSERT ON orders FOR EACH ROW
  INSERT INTO order_events (order_id, status, at) VALUES (NEW.id, NEW.status, NEW.status_changed_at);

CREATE TRIGGER order_events_on_status AFTER UPDATE ON orders FOR EACH ROW
  INSERT INTO order_events (order_id, status, at) SELECT NEW.id, NEW.status, NEW.status_changed_at FROM DUAL WHERE NEW.status <> OLD.status;
