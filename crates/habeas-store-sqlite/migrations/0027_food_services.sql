-- Each unit's food and drinking water, day by day (`food.service`, Mandela Rule 22): the meals
-- served to each person, whether drinking water was available whenever needed, and if not for
-- how many hours and how many litres a person had. A projection, rebuilt from the register like
-- the rest; the notes stay in the entry. A later record of the same unit and day is read in
-- place of an earlier one (both are kept).
CREATE TABLE food_services (
    idx             INTEGER PRIMARY KEY,   -- the record's entry
    facility        TEXT NOT NULL,
    unit            TEXT NOT NULL,
    day             TEXT NOT NULL,         -- YYYY-MM-DD
    meals           INTEGER NOT NULL,
    water_available INTEGER NOT NULL,
    water_hours     INTEGER,
    water_litres    INTEGER,
    recorded_by     TEXT NOT NULL
) STRICT;

CREATE INDEX food_services_by_day ON food_services (facility, day);
