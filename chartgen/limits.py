"""Numbers shared by the checks and the render; a leaf module, so validation never imports the render side."""

#: Connections PostgreSQL must keep beside the pooler's: superusers, replication, Supabase services
#: that connect directly (Realtime, migrations), monitoring.
RESERVED_CONNECTIONS = 20
