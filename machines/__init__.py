"""Local systemd hosts (systemd-nspawn) that the kit's host roles converge against."""
