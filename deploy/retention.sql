-- Runs (and, by ON DELETE CASCADE, their items) that ended more than :keep ago; drafts never confirmed
-- after a day. Customers and their documents are the AR data itself and are never pruned here.
BEGIN;
DELETE FROM batch_runs
 WHERE status IN ('completed', 'error', 'cancelled') AND coalesce(finished_at, updated_at) < now() - :'keep'::interval;
DELETE FROM batch_runs WHERE status = 'draft' AND created_at < now() - interval '1 day';
COMMIT;
