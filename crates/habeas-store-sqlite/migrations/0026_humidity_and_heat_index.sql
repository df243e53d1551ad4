-- Environment readings may carry the relative humidity (`humidity_permille`, tenths of a
-- percent), and a reading with a temperature and a humidity has a heat index (`heat_index_dc`,
-- tenths of a degree Celsius: the US National Weather Service's formula, computed by the
-- projector with habeas_core::environment::heat_index_dc), what `conditions.heat_index`
-- measures (Mandela Rule 13). Readings recorded before this migration carried no humidity, so
-- both are NULL for them; a rebuild computes them the same way.
ALTER TABLE environment ADD COLUMN humidity_permille INTEGER;
ALTER TABLE environment ADD COLUMN heat_index_dc INTEGER;
