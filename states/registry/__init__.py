"""The bureau's own data, as it loads and keeps it: the org tree, the teacher roster, accounts
and roles, quotas, expert pools and the history that proves every change to them.

A process reads these records and may change them through its effects (an appointment sets a
title, a rotation moves a teacher); every such change, like an import or an edit in the
pages, is written with ``history.record`` so a record's past can be read and verified the way
a case's audit trail is.
"""
