-- Port bindings (issue 12: Neutron's `binding:host_id` and `binding:profile`),
-- SQLite; the same logical schema as migrations/postgres/0017_port_bindings.sql.
--
-- The host the cloud admin bound a port to while it is on no VM, and the
-- profile it gave. A port on a VM is on its VM's host (`vms.host_id`): that
-- wins over this row while the port is attached (rules::port_binding_host).
-- The row goes with its interface.
CREATE TABLE port_bindings (
    interface_id TEXT PRIMARY KEY REFERENCES interfaces(id) ON DELETE CASCADE,
    host_id TEXT REFERENCES hosts(id),
    -- Neutron's `binding:profile`, a JSON object (rules::PORT_BINDING_PROFILE_MAX bytes at most).
    profile TEXT NOT NULL DEFAULT '{}',
    updated_at INTEGER NOT NULL
);
CREATE INDEX port_bindings_host ON port_bindings(host_id);
