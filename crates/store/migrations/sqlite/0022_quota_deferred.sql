-- Quota charges of interfaces and public IPs at commit (issue 14): a
-- PostgreSQL change only (migrations/postgres/0022_quota_deferred.sql
-- defers those triggers so that concurrent writers of one project hold its
-- usage row for their commit only). SQLite has one writer: its triggers
-- stay as they are. This file keeps both engines' migration lists the same.
SELECT 1;
