-- Tags: no-parallel
-- Runs after the parallel tests, alone.
SELECT 'alone';
