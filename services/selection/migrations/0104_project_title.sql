-- A project carries its title (项目名称, the application's filing, 附件2) from its approval on, so
-- that what shows a project to the public (the subsidy's 公示) names it as the provider filed it.
-- Projects approved before it was kept have none ('') and are shown by their resource name.
ALTER TABLE project ADD COLUMN title TEXT NOT NULL DEFAULT '';
