-- +goose Up
-- Relay deployments with different REDIS_PREFIX may share one database. Each
-- keeps its replies' live state (active marks, queues, buffers) under its own
-- prefix, so each relay's sweeper must look only at its own deployment's
-- replies: a reply records the prefix of the deployment that created it.
-- NULL (rows from before this column) belongs to every deployment's sweeper,
-- as all replies did before.
alter table messages add column relay_deployment text;

-- +goose Down
alter table messages drop column relay_deployment;
