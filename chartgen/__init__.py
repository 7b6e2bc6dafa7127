"""chartgen: deployment spec -> versioned Helm chart for Supabase on Spilo."""

__version__ = "0.1.0"
