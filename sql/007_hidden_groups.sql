-- facerec schema, version 7: groups the user hid from the People view (issue 14).

-- A hidden group (a background stranger, a poster on a wall) is left out of
-- the People view, its page count and the suggestions; its faces stay
-- searchable and keep being grouped. Keyed by group id, which stays stable
-- while the group's faces stay together (facerec.usecases.grouping): a group
-- that a regroup dissolves leaves a row nobody reads. Hiding and showing again
-- are journalled like every other change of the People view, so undo reverts them.
CREATE TABLE hidden_groups (
    model      text NOT NULL,
    group_id   bigint NOT NULL,
    hidden_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (model, group_id)
);
