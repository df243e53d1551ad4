-- The state of exception an order was issued under (`emergency` on an admission's orders and on
-- `custody.order`): its name, the decree, when declared and, when known, when it ends (ICCPR 4).
-- Statistics count the people held under one; the findings on judicial control apply whatever
-- the regime (habeas corpus and review cannot be suspended: ICCPR 4(2), HRC General Comment
-- 29). NULL for an order that invokes none; orders written before this column invoked none (the
-- field did not exist), and a rebuild from the register fills it like the rest.
ALTER TABLE commitment_orders ADD COLUMN emergency_name TEXT;
ALTER TABLE commitment_orders ADD COLUMN emergency_decree TEXT;
ALTER TABLE commitment_orders ADD COLUMN emergency_declared TEXT;
ALTER TABLE commitment_orders ADD COLUMN emergency_ends TEXT;
