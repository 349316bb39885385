-- Policy set v2 (POLICY.md "Changes in v2") and concurrent writers on PostgreSQL.

-- PROJ-SELECTION: a decided round keeps the quota mode it was decided under and the digest of
-- the policy set beside its version. Rounds decided before modes were recorded were decided
-- strictly (v1); rounds not yet decided have no mode.
ALTER TABLE selection_round ADD COLUMN quota_mode TEXT NOT NULL DEFAULT 'STRICT';
UPDATE selection_round SET quota_mode = '' WHERE state <> 'DECIDED';
ALTER TABLE selection_round ADD COLUMN policy_digest TEXT NOT NULL DEFAULT '';

-- PROV-KIND: an officer's recorded justification for a kind outside the plan's list (JSON).
ALTER TABLE provider ADD COLUMN kind_justification TEXT;

-- PROJ-INSERVICE: the catalog item's basis for in-service projects.
ALTER TABLE catalog_item ADD COLUMN urgent_occupation_reference TEXT NOT NULL DEFAULT '';

-- PROJ-BRAND: the note on a name outside the advised pattern.
ALTER TABLE brand ADD COLUMN note TEXT NOT NULL DEFAULT '';

-- Expert assignments are updated optimistically, like every other record.
ALTER TABLE expert_assignment ADD COLUMN revision BIGINT NOT NULL DEFAULT 1;
