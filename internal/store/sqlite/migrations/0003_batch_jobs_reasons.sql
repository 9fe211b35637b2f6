-- Whether a job's results carry reasons (the features of largest contribution): 1 for a job
-- submitted with explain=true. Jobs stored before this column have none, which is what 0 says.
ALTER TABLE batch_jobs ADD COLUMN reasons INTEGER NOT NULL DEFAULT 0;
