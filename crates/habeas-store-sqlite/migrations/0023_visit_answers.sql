-- A request to visit recorded as pending (`outcome = 'pending'`) is answered by a later visit
-- record (admitted, refused or restricted) that names it in `answers`: an independent monitor's
-- request left unanswered is a finding (`oversight.request_unanswered`, Mandela Rules 83-85;
-- OPCAT arts. 14 and 20). NULL for a record that answers no pending request; visits written
-- before this column answered none (the field did not exist), and a rebuild fills it.
ALTER TABLE oversight_visits ADD COLUMN answers INTEGER;

CREATE INDEX oversight_visits_by_answer ON oversight_visits (answers) WHERE answers IS NOT NULL;
