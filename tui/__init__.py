"""bpfscope's terminal UI (Textual) and command-line entry point."""
