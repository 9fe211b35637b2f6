-- The model version a job is scored by, recorded when its first chunk is taken ('' before).
ALTER TABLE batch_jobs ADD COLUMN model_version TEXT NOT NULL DEFAULT '';
