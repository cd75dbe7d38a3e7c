-- A legacy table of marks (user_id, peer_id, is_group 0/1, starred and
-- pinned true/false, label) made into markimport's input: the README's
-- recipe, run by scripts/legacy-fixture.mjs to make marks.csv (or, with
-- the DuckDB CLI, duckdb -c ".read recipe.sql" in this folder).
COPY (
  SELECT
    user_id                                             AS from_account,
    CASE WHEN is_group = 1 THEN 'group' ELSE 'c2c' END  AS type,
    CASE WHEN is_group = 1 THEN NULL ELSE peer_id END   AS to_account,
    CASE WHEN is_group = 1 THEN peer_id END             AS to_group_id,
    concat_ws('|', CASE WHEN starred THEN 'star' END, CASE WHEN pinned THEN '32' END)         AS set_mark,
    concat_ws('|', CASE WHEN NOT starred THEN 'star' END, CASE WHEN NOT pinned THEN '32' END) AS clear_mark,
    label                                               AS custom_mark,
    CASE WHEN label IS NULL THEN 1 ELSE 3 END           AS opt_type
  FROM read_csv('legacy.csv', header = true,
                types = {'user_id': 'VARCHAR', 'peer_id': 'VARCHAR', 'is_group': 'INTEGER',
                         'starred': 'BOOLEAN', 'pinned': 'BOOLEAN', 'label': 'VARCHAR'})
) TO 'marks.csv' (HEADER);
