"""Modal screens: help, export, thread picker."""
