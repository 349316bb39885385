-- Every stored resource people edit counts its changes in a column named `revision` (the
-- platform's Stamp); enterprises and workers' needs called it `version`.
ALTER TABLE enterprise RENAME COLUMN version TO revision;
ALTER TABLE worker_need RENAME COLUMN version TO revision;
