-- Every stored record is declared once and spelt as the platform spells it.

-- A provider counts its changes in a column named `revision` (the platform's Stamp), as every
-- other record does; it was called `version`.
ALTER TABLE provider RENAME COLUMN version TO revision;

-- An expert's assignment is one per application and expert: that pair, joined, is its key, so
-- that it is read, updated and withdrawn by one column as every other record is.
ALTER TABLE expert_assignment ADD COLUMN id TEXT NOT NULL DEFAULT '';
UPDATE expert_assignment SET id = application_id || '/' || expert;
CREATE UNIQUE INDEX expert_assignment_id ON expert_assignment (id);

-- A quota is one per region and year, named `quotas/{region_code}-{year}`: that id is its key.
ALTER TABLE quota ADD COLUMN id TEXT NOT NULL DEFAULT '';
UPDATE quota SET id = region_code || '-' || CAST(year AS TEXT);
CREATE UNIQUE INDEX quota_id ON quota (id);
