-- A claim keeps its project's title as selection had it when the claim's facts were gathered
-- (filed, refiled, or gathered again after a rate change): the 公示 names the project by it.
-- Claims gathered before it was kept have none ('') and are shown by the project's resource name.
ALTER TABLE claim ADD COLUMN project_title TEXT NOT NULL DEFAULT '';
