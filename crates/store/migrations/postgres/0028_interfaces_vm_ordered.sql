-- A VM's interfaces in the order the store lists them (issue 14, session 15).
--
-- Every list of a VM's interfaces (the native list, Nova's os-interface, a
-- VM's detail) reads `WHERE i.vm_id = $1 … ORDER BY i.id`. On (vm_id) alone
-- the index hands the rows over in the table's own order, so each list built
-- a temporary B-tree, copied every row into it and read them back sorted: the
-- largest cost of `GET …/vms/{id}/interfaces` after the row itself. On
-- (vm_id, id) the index already holds them in `id` order. It still serves
-- every lookup by VM alone (a VM's delete, its interface count).
DROP INDEX interfaces_vm;
CREATE INDEX interfaces_vm ON interfaces(vm_id, id);
