-- When each contact was written to the register, beside when it happened (`at`). Rule 68's
-- family contact counts from when it happened only if it was written down within
-- `notification.contact_record_hours` of that; a call or visit typed in days later and dated
-- back would otherwise clear hours in which the records showed no contact at all. Filled from
-- the entries already recorded (the entry's `time`); a rebuild fills it the same way.
ALTER TABLE contacts ADD COLUMN recorded_at TEXT;
UPDATE contacts SET recorded_at =
    (SELECT json_extract(CAST(l.bytes AS TEXT), '$.time') FROM register_log l WHERE l.idx = contacts.idx);
