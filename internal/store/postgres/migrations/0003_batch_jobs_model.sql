-- The model version a job is scored by, recorded when its first chunk is taken ('' before), so
-- that every instance scores the job's chunks with it.
ALTER TABLE batch_jobs ADD COLUMN model_version TEXT NOT NULL DEFAULT '';
