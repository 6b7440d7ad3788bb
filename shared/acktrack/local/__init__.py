"""The embedded local stack (moto's threaded server) and the commands that drive it."""
